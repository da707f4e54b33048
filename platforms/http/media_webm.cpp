// WebM (Matroska/EBML): Segment/Info for the duration (TimecodeScale x Duration), Segment/Tracks for
// the first video track's codec (CodecID), size (Video/PixelWidth, PixelHeight) and frame rate
// (DefaultDuration, when the muxer wrote it). Only the elements before the first Cluster are read;
// Info and Tracks are read into memory (bounded), the clusters (the media data) never.
#include <bit>
#include <cstring>
#include <functional>

#include "platforms/http/media_info.hpp"

namespace schedulo::http {
namespace {

constexpr std::uint64_t kEbml = 0x1A45DFA3, kSegment = 0x18538067, kInfo = 0x1549A966, kTracks = 0x1654AE6B,
                        kCluster = 0x1F43B675, kTimecodeScale = 0x2AD7B1, kDuration = 0x4489, kTrackEntry = 0xAE,
                        kTrackType = 0x83, kCodecId = 0x86, kDefaultDuration = 0x23E383, kVideo = 0xE0,
                        kPixelWidth = 0xB0, kPixelHeight = 0xBA;
constexpr std::uint64_t kMaxHeaderElement = 1 << 20;  // Info and Tracks are a few hundred bytes in practice
constexpr int kMaxElements = 100'000;

Error bad(std::string message) { return {ErrorKind::bad_media, std::move(message)}; }

struct Element {
  std::uint64_t id = 0;
  std::uint64_t data = 0;  // offset of the payload
  std::uint64_t size = 0;
  bool unknown_size = false;
};

// One EBML variable-length number at b[at]: its length from the leading zero bits (1..max).
bool vint(std::string_view b, std::size_t& at, int max, bool keep_marker, std::uint64_t& value, bool& all_ones) {
  if (at >= b.size()) return false;
  const auto first = static_cast<unsigned char>(b[at]);
  if (first == 0) return false;
  const int length = std::countl_zero(first) + 1;
  if (length > max || at + static_cast<std::size_t>(length) > b.size()) return false;
  value = keep_marker ? first : first & (0xffu >> length);
  all_ones = (first & (0xffu >> length)) == (0xffu >> length);
  for (int i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
    value = (value << 8) | byte;
    all_ones = all_ones && byte == 0xff;
  }
  at += static_cast<std::size_t>(length);
  return true;
}

std::optional<Element> element_at(const ByteReader& r, std::uint64_t at) {
  const std::string h = r.read(at, 12);
  std::size_t i = 0;
  Element e;
  bool ignored = false;
  if (!vint(h, i, 4, true, e.id, ignored) || !vint(h, i, 8, false, e.size, e.unknown_size)) return std::nullopt;
  e.data = at + i;
  return e;
}

std::uint64_t uint_of(std::string_view b) {
  std::uint64_t v = 0;
  for (const char c : b.substr(0, 8)) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

double float_of(std::string_view b) {
  if (b.size() == 4) return std::bit_cast<float>(static_cast<std::uint32_t>(uint_of(b)));
  if (b.size() == 8) return std::bit_cast<double>(uint_of(b));
  return 0;
}

// The children of a payload held in memory.
std::optional<Error> for_each_child(std::string_view body,
                                    const std::function<void(std::uint64_t id, std::string_view payload)>& visit) {
  const MemoryReader reader(body);
  std::uint64_t at = 0;
  for (int n = 0; at < body.size() && n < kMaxElements; ++n) {
    const auto e = element_at(reader, at);
    if (!e || e->unknown_size || e->data + e->size > body.size()) return bad("corrupt WebM: an element is cut off");
    visit(e->id, body.substr(e->data, e->size));
    at = e->data + e->size;
  }
  return std::nullopt;
}

struct Track {
  std::uint64_t type = 0;
  std::string codec;
  std::uint32_t width = 0, height = 0;
  std::uint64_t frame_ns = 0;
};

std::string fourcc_of(std::string_view codec_id) {
  if (codec_id == "V_VP8") return "vp08";
  if (codec_id == "V_VP9") return "vp09";
  if (codec_id == "V_AV1") return "av01";
  if (codec_id == "V_MPEG4/ISO/AVC") return "avc1";
  if (codec_id == "V_MPEGH/ISO/HEVC") return "hvc1";
  return std::string(codec_id);
}

}  // namespace

std::optional<Error> inspect_webm(const ByteReader& reader, MediaInfo& info) {
  const std::uint64_t size = reader.size();
  const auto header = element_at(reader, 0);
  if (!header || header->id != kEbml || header->unknown_size || header->data + header->size > size)
    return bad("truncated WebM: the EBML header is cut off");
  const auto segment = element_at(reader, header->data + header->size);
  if (!segment || segment->id != kSegment) return bad("truncated WebM: no Segment after the header");
  const std::uint64_t end = segment->unknown_size ? size : segment->data + segment->size;
  if (end > size) return bad("truncated WebM: the Segment runs past the end of the file");

  std::uint64_t timecode_scale = 1'000'000;  // ns per Duration unit, Matroska's default
  std::optional<double> duration;
  std::optional<Track> video;
  bool has_tracks = false;
  std::uint64_t at = segment->data;
  for (int n = 0; at < end && n < kMaxElements; ++n) {
    const auto e = element_at(reader, at);
    if (!e) return bad("truncated WebM: an element header is cut off");
    if (e->id == kCluster) break;  // media data from here on
    if (e->unknown_size || e->data + e->size > end) return bad("truncated WebM: an element runs past the Segment");
    if (e->id == kInfo || e->id == kTracks) {
      if (e->size > kMaxHeaderElement) return bad("WebM header element larger than 1 MiB");
      const std::string body = reader.read(e->data, static_cast<std::size_t>(e->size));
      std::optional<Error> error;
      if (e->id == kInfo) {
        error = for_each_child(body, [&](std::uint64_t id, std::string_view payload) {
          if (id == kTimecodeScale && uint_of(payload) > 0) timecode_scale = uint_of(payload);
          if (id == kDuration) duration = float_of(payload);
        });
      } else {
        has_tracks = true;
        std::optional<Error> inner;  // from the nested levels, kept apart from this level's own result
        error = for_each_child(body, [&](std::uint64_t id, std::string_view entry) {
          if (id != kTrackEntry || inner) return;
          Track track;
          inner = for_each_child(entry, [&](std::uint64_t field, std::string_view payload) {
            if (field == kTrackType) track.type = uint_of(payload);
            if (field == kCodecId) track.codec = fourcc_of(payload.substr(0, payload.find('\0')));
            if (field == kDefaultDuration) track.frame_ns = uint_of(payload);
            if (field == kVideo && !inner)
              inner = for_each_child(payload, [&](std::uint64_t v, std::string_view p) {
                if (v == kPixelWidth) track.width = static_cast<std::uint32_t>(uint_of(p));
                if (v == kPixelHeight) track.height = static_cast<std::uint32_t>(uint_of(p));
              });
          });
          if (track.type == 1 && !video) video = track;  // the first video track
          if (track.type == 2) info.has_audio = true;
        });
        if (!error) error = inner;
      }
      if (error) return error;
    }
    at = e->data + e->size;
  }
  if (!has_tracks) return bad("WebM without a Tracks element");
  if (!video) return bad("WebM without a video track");
  if (duration && *duration >= 0)
    info.duration_s = *duration * static_cast<double>(timecode_scale) / 1e9;
  info.codec = video->codec;
  info.width = video->width;
  info.height = video->height;
  if (video->frame_ns > 0) info.frame_rate = 1e9 / static_cast<double>(video->frame_ns);
  return std::nullopt;
}

}  // namespace schedulo::http
