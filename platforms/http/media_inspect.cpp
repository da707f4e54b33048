#include "platforms/http/media_info.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace schedulo::http {
namespace {

constexpr int kMaxJpegSegments = 4096;  // markers walked before giving up on finding the frame header

std::uint32_t be16(std::string_view b, std::size_t at) {
  return (std::uint32_t{static_cast<unsigned char>(b[at])} << 8) | static_cast<unsigned char>(b[at + 1]);
}
std::uint32_t be32(std::string_view b, std::size_t at) { return (be16(b, at) << 16) | be16(b, at + 2); }
std::uint32_t le16(std::string_view b, std::size_t at) {
  return (std::uint32_t{static_cast<unsigned char>(b[at + 1])} << 8) | static_cast<unsigned char>(b[at]);
}
std::uint32_t le24(std::string_view b, std::size_t at) {
  return le16(b, at) | (std::uint32_t{static_cast<unsigned char>(b[at + 2])} << 16);
}
std::uint32_t le32(std::string_view b, std::size_t at) { return le16(b, at) | (le16(b, at + 2) << 16); }

Error bad(std::string message) { return {ErrorKind::bad_media, std::move(message)}; }
Error truncated(MediaType type) { return bad("truncated " + std::string(to_string(type)) + " file"); }

std::string hex_prefix(std::string_view head) {
  std::string out;
  for (std::size_t i = 0; i < head.size() && i < 8; ++i) {
    char part[4];
    std::snprintf(part, sizeof part, "%02x", static_cast<unsigned char>(head[i]));
    if (i) out += ' ';
    out += part;
  }
  return out.empty() ? "nothing: the file is empty" : out;
}

std::optional<Error> png_size(const ByteReader& r, MediaInfo& info) {
  const std::string h = r.read(0, 24);
  if (h.size() < 24) return truncated(MediaType::png);
  if (h.compare(12, 4, "IHDR") != 0) return bad("PNG without an IHDR header");
  info.width = be32(h, 16);
  info.height = be32(h, 20);
  return std::nullopt;
}

std::optional<Error> gif_size(const ByteReader& r, MediaInfo& info) {
  const std::string h = r.read(0, 10);
  if (h.size() < 10) return truncated(MediaType::gif);
  info.width = le16(h, 6);
  info.height = le16(h, 8);
  return std::nullopt;
}

// The first frame header (SOF0..SOF15 but DHT, JPG and DAC, which share the range) gives the size.
std::optional<Error> jpeg_size(const ByteReader& r, MediaInfo& info) {
  std::uint64_t at = 2;
  for (int i = 0; i < kMaxJpegSegments; ++i) {
    const std::string m = r.read(at, 4);
    if (m.size() < 2) return truncated(MediaType::jpeg);
    if (static_cast<unsigned char>(m[0]) != 0xff) return bad("corrupt JPEG: no marker where one belongs");
    const auto marker = static_cast<unsigned char>(m[1]);
    if (marker == 0xff) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {  // no length
      at += 2;
      continue;
    }
    if (marker == 0xd9 || marker == 0xda) return bad("JPEG without a frame header before its image data");
    if (m.size() < 4) return truncated(MediaType::jpeg);
    const std::uint32_t length = be16(m, 2);
    if (length < 2) return bad("corrupt JPEG: a segment shorter than its own length field");
    const bool frame = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (frame) {
      const std::string f = r.read(at + 4, 5);  // precision, height, width
      if (f.size() < 5) return truncated(MediaType::jpeg);
      info.height = be16(f, 1);
      info.width = be16(f, 3);
      return std::nullopt;
    }
    at += 2 + length;
  }
  return bad("JPEG with too many segments before its frame header");
}

std::optional<Error> webp_size(const ByteReader& r, MediaInfo& info) {
  const std::string h = r.read(0, 30);
  if (h.size() < 16) return truncated(MediaType::webp);
  const std::string_view chunk = std::string_view(h).substr(12, 4);
  if (h.size() < (chunk == "VP8L" ? 25u : 30u)) return truncated(MediaType::webp);
  if (chunk == "VP8X") {  // extended: canvas size, 24-bit minus one
    info.width = le24(h, 24) + 1;
    info.height = le24(h, 27) + 1;
  } else if (chunk == "VP8 ") {  // lossy: key frame start code, then 14-bit sizes
    if (static_cast<unsigned char>(h[23]) != 0x9d || static_cast<unsigned char>(h[24]) != 0x01 ||
        static_cast<unsigned char>(h[25]) != 0x2a)
      return bad("corrupt WebP: the VP8 frame has no start code");
    info.width = le16(h, 26) & 0x3fff;
    info.height = le16(h, 28) & 0x3fff;
  } else if (chunk == "VP8L") {  // lossless: signature byte, then 14-bit sizes minus one
    if (static_cast<unsigned char>(h[20]) != 0x2f) return bad("corrupt WebP: the VP8L signature is missing");
    const std::uint32_t bits = le32(h, 21);
    info.width = (bits & 0x3fff) + 1;
    info.height = ((bits >> 14) & 0x3fff) + 1;
  } else {
    return bad("WebP with an unknown first chunk");
  }
  return std::nullopt;
}

bool is_top_level_box(std::string_view type) {
  return type == "moov" || type == "mdat" || type == "free" || type == "skip" || type == "wide";
}

// The type from the first bytes, or an error that shows them.
Result<MediaType> detect(const ByteReader& r) {
  const std::string h = r.read(0, 64);
  const std::string_view v(h);
  if (v.starts_with("\xff\xd8\xff")) return MediaType::jpeg;
  if (v.starts_with("\x89PNG\r\n\x1a\n")) return MediaType::png;
  if (v.starts_with("GIF87a") || v.starts_with("GIF89a")) return MediaType::gif;
  if (v.size() >= 12 && v.starts_with("RIFF") && v.substr(8, 4) == "WEBP") return MediaType::webp;
  if (v.size() >= 12 && v.substr(4, 4) == "ftyp") return v.substr(8, 4) == "qt  " ? MediaType::mov : MediaType::mp4;
  if (v.size() >= 8 && is_top_level_box(v.substr(4, 4))) return MediaType::mov;  // QuickTime without ftyp
  if (v.starts_with("\x1a\x45\xdf\xa3")) {
    // EBML: the DocType in the header (within its first KiB in any real file) says WebM or Matroska.
    const std::string header = r.read(0, 1024);
    if (header.find("webm") != std::string::npos) return MediaType::webm;
    if (header.find("matroska") != std::string::npos) return bad("Matroska (MKV) files are not accepted: use MP4 or WebM");
    return bad("truncated WebM: the EBML header ends before its document type");
  }
  return bad("not a media type we accept (JPEG, PNG, GIF, WebP, MP4, MOV, WebM); the file starts with " +
             hex_prefix(v));
}

}  // namespace

std::string_view to_string(MediaType type) {
  switch (type) {
    case MediaType::jpeg: return "JPEG";
    case MediaType::png: return "PNG";
    case MediaType::gif: return "GIF";
    case MediaType::webp: return "WebP";
    case MediaType::mp4: return "MP4";
    case MediaType::mov: return "MOV";
    case MediaType::webm: return "WebM";
  }
  return "unknown";
}

bool is_video(MediaType type) { return type == MediaType::mp4 || type == MediaType::mov || type == MediaType::webm; }

std::string MemoryReader::read(std::uint64_t offset, std::size_t length) const {
  if (offset >= data_.size()) return {};
  return std::string(data_.substr(static_cast<std::size_t>(offset), length));
}

FileReader::FileReader(int fd) : fd_(fd) {
  struct stat st {};
  if (::fstat(fd, &st) == 0) size_ = static_cast<std::uint64_t>(st.st_size);
}

std::string FileReader::read(std::uint64_t offset, std::size_t length) const {
  if (offset >= size_) return {};
  std::string out(static_cast<std::size_t>(std::min<std::uint64_t>(length, size_ - offset)), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

Result<MediaInfo> inspect_media(const ByteReader& reader) {
  auto type = detect(reader);
  if (!type) return type.error();
  MediaInfo info;
  info.type = *type;
  info.bytes = reader.size();
  std::optional<Error> error;
  switch (info.type) {
    case MediaType::jpeg: error = jpeg_size(reader, info); break;
    case MediaType::png: error = png_size(reader, info); break;
    case MediaType::gif: error = gif_size(reader, info); break;
    case MediaType::webp: error = webp_size(reader, info); break;
    case MediaType::mp4:
    case MediaType::mov: error = inspect_mp4(reader, info); break;
    case MediaType::webm: error = inspect_webm(reader, info); break;
  }
  if (error) return *error;
  if (!is_video(info.type) && (info.width == 0 || info.height == 0))
    return bad(std::string(to_string(info.type)) + " with a zero width or height");
  return info;
}

}  // namespace schedulo::http
