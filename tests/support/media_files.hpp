#pragma once
// Test support: media files built byte by byte (no ffmpeg): valid minimal JPEG, PNG, GIF and WebP
// headers, and MP4/MOV files with a real moov structure (mvhd, trak/tkhd, mdia/mdhd/hdlr,
// minf/stbl/stsd/stts), so the inspectors are tested on the formats as specified.
#include <cstdint>
#include <string>

namespace schedulo::test {

std::string jpeg_file(std::uint16_t width, std::uint16_t height);
std::string png_file(std::uint32_t width, std::uint32_t height);
std::string gif_file(std::uint16_t width, std::uint16_t height);
enum class WebpKind { lossy, lossless, extended };
std::string webp_file(WebpKind kind, std::uint32_t width, std::uint32_t height);
struct WebmSpec {
  std::uint32_t width = 1280;
  std::uint32_t height = 720;
  double duration_ms = 12'500;      // in TimecodeScale units (1 ms)
  std::string codec_id = "V_VP9";
  std::uint64_t frame_ns = 33'333'333;  // DefaultDuration: 30 fps
  bool audio_track = true;
  bool unknown_segment_size = false;  // as live muxers write it
};
std::string webm_file(const WebmSpec& spec = {});

struct Mp4Spec {
  bool quicktime = false;          // ftyp brand "qt  " (a MOV)
  std::uint32_t width = 1080;
  std::uint32_t height = 1920;
  bool quarter_turn = false;       // display matrix rotated 90 degrees (dimensions as coded: width x height)
  std::uint32_t movie_timescale = 1000;
  std::uint64_t movie_duration = 30'000;  // in movie_timescale units
  bool version1_headers = false;   // 64-bit mvhd/mdhd
  std::uint32_t media_timescale = 30'000;
  std::uint32_t frames = 900;      // samples of the video track
  std::uint32_t frame_delta = 1000;  // per sample, in media_timescale units (30 fps)
  std::string codec = "avc1";
  bool audio_track = true;
  bool moov_last = false;          // mdat before moov (a file not prepared for streaming)
  std::uint32_t mdat_bytes = 4096;
};

std::string mp4_file(const Mp4Spec& spec);

}  // namespace schedulo::test
