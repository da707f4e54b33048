#include "sandbox/core/media_probe.hpp"

#include <optional>

namespace schedulo::sandbox {
namespace {

std::uint64_t be(std::string_view s, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]);
  return v;
}
std::uint64_t le(std::string_view s, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]);
  return v;
}

void probe_jpeg(std::string_view s, MediaFacts& f) {
  // Markers after SOI: FF xx, then (except standalone markers) a 2-byte length; the frame header
  // (SOF0..SOF15 but DHT C4, JPG C8, DAC CC) holds precision, height, width.
  std::size_t at = 2;
  while (at + 4 <= s.size()) {
    if (static_cast<unsigned char>(s[at]) != 0xFF) return;
    const auto marker = static_cast<unsigned char>(s[at + 1]);
    if (marker == 0xFF) {
      ++at;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      at += 2;
      continue;
    }
    const auto length = be(s, at + 2, 2);
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      if (at + 9 > s.size()) break;
      f.height = static_cast<std::uint32_t>(be(s, at + 5, 2));
      f.width = static_cast<std::uint32_t>(be(s, at + 7, 2));
      return;
    }
    if (marker == 0xDA) return;  // scan data before any frame header: not a valid file
    at += 2 + length;
  }
  f.complete = false;
}

void probe_webp(std::string_view s, MediaFacts& f) {
  for (std::size_t at = 12; at + 8 <= s.size();) {
    const auto type = s.substr(at, 4);
    const auto size = le(s, at + 4, 4);
    const std::size_t data = at + 8;
    if (type == "VP8X" && data + 10 <= s.size()) {
      f.width = static_cast<std::uint32_t>(le(s, data + 4, 3) + 1);
      f.height = static_cast<std::uint32_t>(le(s, data + 7, 3) + 1);
      return;
    }
    if (type == "VP8L" && data + 5 <= s.size()) {
      const auto bits = le(s, data + 1, 4);
      f.width = static_cast<std::uint32_t>((bits & 0x3FFF) + 1);
      f.height = static_cast<std::uint32_t>(((bits >> 14) & 0x3FFF) + 1);
      return;
    }
    if (type == "VP8 " && data + 10 <= s.size()) {
      f.width = static_cast<std::uint32_t>(le(s, data + 6, 2) & 0x3FFF);
      f.height = static_cast<std::uint32_t>(le(s, data + 8, 2) & 0x3FFF);
      return;
    }
    at = data + size + (size % 2);
  }
  f.complete = false;
}

struct Box {
  std::string_view type;
  std::size_t payload = 0;  // offset of the payload
  std::size_t end = 0;      // offset past the box (may exceed the bytes held)
};

// The child boxes of [begin, end); stops at the first box that runs past the bytes held.
template <typename Fn>
bool each_box(std::string_view s, std::size_t begin, std::size_t end, Fn&& fn) {
  for (std::size_t at = begin; at + 8 <= end;) {
    std::uint64_t size = be(s, at, 4);
    std::size_t header = 8;
    if (size == 1) {
      if (at + 16 > s.size()) return false;
      size = be(s, at + 8, 8);
      header = 16;
    } else if (size == 0) {
      size = end - at;  // to the end of the file
    }
    if (size < header) return false;
    const Box b{s.substr(at + 4, 4), at + header, at + static_cast<std::size_t>(size)};
    if (!fn(b)) return true;
    at = b.end;
  }
  return true;
}

void probe_mp4(std::string_view s, MediaFacts& f) {
  std::optional<Box> moov;
  each_box(s, 0, s.size(), [&](const Box& b) {
    if (b.type == "moov") moov = b;
    return !moov;
  });
  if (!moov || moov->end > s.size()) {
    f.complete = false;
    return;
  }
  each_box(s, moov->payload, moov->end, [&](const Box& b) {
    if (b.type == "mvhd" && b.payload + 32 <= b.end) {
      const auto version = static_cast<unsigned char>(s[b.payload]);
      const std::uint64_t timescale = version == 1 ? be(s, b.payload + 20, 4) : be(s, b.payload + 12, 4);
      const std::uint64_t duration = version == 1 ? be(s, b.payload + 24, 8) : be(s, b.payload + 16, 4);
      if (timescale > 0) f.duration_s = static_cast<double>(duration) / static_cast<double>(timescale);
    }
    if (b.type == "trak") {
      std::uint32_t width = 0;
      std::uint32_t height = 0;
      bool video = false;
      each_box(s, b.payload, b.end, [&](const Box& t) {
        if (t.type == "tkhd") {
          const auto version = static_cast<unsigned char>(s[t.payload]);
          const std::size_t at = t.payload + (version == 1 ? 88 : 76);
          if (at + 8 <= t.end) {
            width = static_cast<std::uint32_t>(be(s, at, 4) >> 16);
            height = static_cast<std::uint32_t>(be(s, at + 4, 4) >> 16);
          }
        }
        if (t.type == "mdia") {
          each_box(s, t.payload, t.end, [&](const Box& m) {
            if (m.type == "hdlr" && m.payload + 12 <= m.end) video = s.substr(m.payload + 8, 4) == "vide";
            return true;
          });
        }
        return true;
      });
      if (video && !f.has_video) {
        f.has_video = true;
        f.width = width;
        f.height = height;
      }
    }
    return true;
  });
}

}  // namespace

MediaFacts probe_media(std::string_view s) {
  MediaFacts f;
  f.format = "unknown";
  if (s.size() >= 3 && static_cast<unsigned char>(s[0]) == 0xFF && static_cast<unsigned char>(s[1]) == 0xD8 &&
      static_cast<unsigned char>(s[2]) == 0xFF) {
    f.format = "jpeg";
    probe_jpeg(s, f);
  } else if (s.size() >= 24 && s.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) {
    f.format = "png";
    f.width = static_cast<std::uint32_t>(be(s, 16, 4));
    f.height = static_cast<std::uint32_t>(be(s, 20, 4));
  } else if (s.size() >= 10 && (s.substr(0, 6) == "GIF87a" || s.substr(0, 6) == "GIF89a")) {
    f.format = "gif";
    f.width = static_cast<std::uint32_t>(le(s, 6, 2));
    f.height = static_cast<std::uint32_t>(le(s, 8, 2));
  } else if (s.size() >= 12 && s.substr(0, 4) == "RIFF" && s.substr(8, 4) == "WEBP") {
    f.format = "webp";
    probe_webp(s, f);
  } else if (s.size() >= 8 && s.substr(4, 4) == "ftyp") {
    f.format = "mp4";
    probe_mp4(s, f);
  }
  return f;
}

}  // namespace schedulo::sandbox
