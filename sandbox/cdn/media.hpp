#pragma once
// Media files made to order for the CDN emulator: JPEG, PNG, GIF, WebP and MP4 of a given size,
// dimensions, duration and frame rate, valid enough for real inspectors (file(1), ffprobe, image
// libraries): correct headers, decodable uniform-grey pixel data, and for MP4 a real ftyp + moov box
// tree (mvhd, trak/tkhd, mdia/mdhd/hdlr, minf/stbl with stsd avc1 + avcC, stts, stsc, stsz, stco)
// before an mdat holding one length-prefixed NAL unit per sample. The requested byte count is
// reached with padding the format allows (COM segments, comment extensions, an ancillary PNG chunk,
// an unknown RIFF chunk, the samples themselves) and generated on the fly: a 4 GiB file never sits in
// memory.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/http_server.hpp"

namespace schedulo::sandbox::cdn {

struct MediaSpec {
  std::string kind;         // jpeg | png | gif | webp | mp4
  std::uint64_t bytes = 0;  // wanted size; the file is larger when the format needs more
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  double duration_s = 0;  // mp4
  double fps = 0;         // mp4
};

struct MediaFile {
  std::uint64_t length = 0;
  std::string content_type;
  std::unique_ptr<server::BodySource> body;
};

// The file, or nullopt with `error` set for a spec outside the limits.
std::optional<MediaFile> make_media(const MediaSpec& spec, std::string& error);

}  // namespace schedulo::sandbox::cdn
