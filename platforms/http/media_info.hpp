#pragma once
// What a media file really is, read from its bytes, never from its name, URL or Content-Type: the
// type from its magic bytes, image dimensions from its header, and for MP4/MOV the duration,
// dimensions, codec and frame rate from the container's boxes. Reads only headers and the moov box
// (bounded), never the media data. WebM gives the same facts from its Info and Tracks elements.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "platforms/http/errors.hpp"

namespace schedulo::http {

enum class MediaType { jpeg, png, gif, webp, mp4, mov, webm };

std::string_view to_string(MediaType type);  // "JPEG", "MP4", ...
bool is_video(MediaType type);

struct MediaInfo {
  MediaType type = MediaType::jpeg;
  std::uint64_t bytes = 0;
  std::uint32_t width = 0;            // pixels; for videos as displayed (MP4 rotation applied)
  std::uint32_t height = 0;
  std::optional<double> duration_s;   // videos (absent when a WebM muxer did not write it)
  std::optional<double> frame_rate;   // videos: samples per second of the video track (WebM: when declared)
  std::string codec;                  // videos, as an MP4 sample entry: "avc1", "hvc1", "vp08", "vp09", "av01"
  bool has_audio = false;
};

// Random access to the bytes being inspected: a file (pread) or memory.
class ByteReader {
 public:
  virtual ~ByteReader() = default;
  virtual std::uint64_t size() const = 0;
  // Up to `length` bytes from `offset` (fewer only at the end).
  virtual std::string read(std::uint64_t offset, std::size_t length) const = 0;
};

class MemoryReader final : public ByteReader {
 public:
  explicit MemoryReader(std::string_view data) : data_(data) {}
  std::uint64_t size() const override { return data_.size(); }
  std::string read(std::uint64_t offset, std::size_t length) const override;

 private:
  std::string_view data_;
};

class FileReader final : public ByteReader {
 public:
  explicit FileReader(int fd);  // not owned
  std::uint64_t size() const override { return size_; }
  std::string read(std::uint64_t offset, std::size_t length) const override;

 private:
  int fd_;
  std::uint64_t size_ = 0;
};

// The media's facts, or a bad_media Error: "not a media type we accept (starts with 3c 21 44 4f)",
// "truncated PNG", "MP4 without a moov box", ...
Result<MediaInfo> inspect_media(const ByteReader& reader);

// Container details, with `info.type` and `info.bytes` already set: MP4/MOV (media_mp4.cpp) and
// WebM (media_webm.cpp).
std::optional<Error> inspect_mp4(const ByteReader& reader, MediaInfo& info);
std::optional<Error> inspect_webm(const ByteReader& reader, MediaInfo& info);

}  // namespace schedulo::http
