#pragma once
// What a platform learns from a media file's first bytes: its format and dimensions, and for MP4 the
// duration and whether it has a video track. Emulators judge uploads and fetched URLs by it (IG wants
// JPEG feed images, reels have duration and aspect limits). Written from the format specifications
// (JPEG markers, PNG IHDR, GIF screen descriptor, RIFF/WebP chunks, ISO 14496-12 boxes), not from the
// CDN emulator that makes the files.
#include <cstdint>
#include <string>
#include <string_view>

namespace schedulo::sandbox {

struct MediaFacts {
  std::string format;  // jpeg | png | gif | webp | mp4 | unknown
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  double duration_s = 0;   // mp4
  bool has_video = false;  // mp4: a track with a 'vide' handler
  bool complete = true;    // false: the structure ran past the bytes given (a cut file)
};

MediaFacts probe_media(std::string_view bytes);

}  // namespace schedulo::sandbox
