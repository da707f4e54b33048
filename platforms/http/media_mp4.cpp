// MP4/MOV (ISO BMFF / QuickTime) boxes: moov/mvhd for the duration; per trak, tkhd for the display
// size, mdia/mdhd for the track's timescale, hdlr for video or audio, minf/stbl/stsd for the codec
// and coded size, stbl/stts for the sample count and durations (the frame rate). The moov box is read
// into memory once (bounded); the media data (mdat) is never read.
#include <array>
#include <functional>
#include <utility>

#include "platforms/http/media_info.hpp"

namespace schedulo::http {
namespace {

constexpr std::uint64_t kMaxMoovBytes = 64ull << 20;  // a sample table of hours of video fits easily
constexpr int kMaxBoxes = 100'000;                    // per level: bounds a hostile file's work

std::uint64_t be(std::string_view b, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

Error bad(std::string message) { return {ErrorKind::bad_media, std::move(message)}; }

struct Box {
  std::string_view type;
  std::uint64_t payload = 0;  // offset of the payload (after the header)
  std::uint64_t end = 0;      // offset just past the box
};

// Calls `visit` for each box in [begin, end) of `data`; an error when a box runs past `end`.
std::optional<Error> for_each_box(std::string_view data, std::uint64_t begin, std::uint64_t end,
                                  const std::function<std::optional<Error>(const Box&)>& visit) {
  std::uint64_t at = begin;
  for (int i = 0; at < end && i < kMaxBoxes; ++i) {
    if (end - at < 8) return bad("truncated MP4: a box header is cut off");
    std::uint64_t size = be(data, at, 4);
    std::uint64_t header = 8;
    if (size == 1) {
      if (end - at < 16) return bad("truncated MP4: a box header is cut off");
      size = be(data, at + 8, 8);
      header = 16;
    } else if (size == 0) {
      size = end - at;  // to the end of the enclosing space
    }
    if (size < header || size > end - at) return bad("truncated MP4: a box is longer than what holds it");
    const Box box{data.substr(at + 4, 4), at + header, at + size};
    if (auto error = visit(box)) return error;
    at += size;
  }
  return std::nullopt;
}

struct Track {
  std::string handler;
  std::uint32_t tkhd_width = 0, tkhd_height = 0;
  std::uint32_t entry_width = 0, entry_height = 0;
  bool quarter_turn = false;  // the display matrix rotates by 90 or 270 degrees (portrait phone video)
  std::string codec;
  std::uint64_t timescale = 0;
  std::uint64_t samples = 0;
  std::uint64_t sample_time = 0;  // sum of sample durations, in timescale units
};

std::optional<Error> need(const Box& box, std::uint64_t bytes, std::string_view what) {
  if (box.end - box.payload < bytes) return bad("corrupt MP4: the " + std::string(what) + " box is too short");
  return std::nullopt;
}

std::optional<Error> read_stbl(std::string_view m, const Box& stbl, Track& track) {
  return for_each_box(m, stbl.payload, stbl.end, [&](const Box& box) -> std::optional<Error> {
    if (box.type == "stsd") {
      if (auto e = need(box, 16, "stsd")) return e;
      if (be(m, box.payload + 4, 4) == 0) return bad("corrupt MP4: a track without a sample description");
      const std::uint64_t entry = box.payload + 8;
      track.codec = std::string(m.substr(entry + 4, 4));
      if (box.end - entry >= 36) {  // a visual sample entry: width and height after 24 bytes of fields
        track.entry_width = static_cast<std::uint32_t>(be(m, entry + 32, 2));
        track.entry_height = static_cast<std::uint32_t>(be(m, entry + 34, 2));
      }
    } else if (box.type == "stts") {
      if (auto e = need(box, 8, "stts")) return e;
      const std::uint64_t count = be(m, box.payload + 4, 4);
      if (count > (box.end - box.payload - 8) / 8) return bad("corrupt MP4: the stts table is cut off");
      for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t n = be(m, box.payload + 8 + i * 8, 4);
        const std::uint64_t delta = be(m, box.payload + 12 + i * 8, 4);
        track.samples += n;
        track.sample_time += n * delta;
      }
    }
    return std::nullopt;
  });
}

std::optional<Error> read_mdia(std::string_view m, const Box& mdia, Track& track) {
  return for_each_box(m, mdia.payload, mdia.end, [&](const Box& box) -> std::optional<Error> {
    if (box.type == "mdhd") {
      if (auto e = need(box, 24, "mdhd")) return e;
      const bool v1 = m[box.payload] == 1;
      if (v1 && box.end - box.payload < 36) return bad("corrupt MP4: the mdhd box is too short");
      track.timescale = be(m, box.payload + (v1 ? 20 : 12), 4);
    } else if (box.type == "hdlr") {
      if (auto e = need(box, 12, "hdlr")) return e;
      track.handler = std::string(m.substr(box.payload + 8, 4));
    } else if (box.type == "minf") {
      return for_each_box(m, box.payload, box.end, [&](const Box& inner) -> std::optional<Error> {
        if (inner.type == "stbl") return read_stbl(m, inner, track);
        return std::nullopt;
      });
    }
    return std::nullopt;
  });
}

std::optional<Error> read_trak(std::string_view m, const Box& trak, Track& track) {
  return for_each_box(m, trak.payload, trak.end, [&](const Box& box) -> std::optional<Error> {
    if (box.type == "tkhd") {
      if (auto e = need(box, 84, "tkhd")) return e;
      // width and height close the box, as 16.16 fixed point
      track.tkhd_width = static_cast<std::uint32_t>(be(m, box.end - 8, 4) >> 16);
      track.tkhd_height = static_cast<std::uint32_t>(be(m, box.end - 4, 4) >> 16);
      // the 3x3 matrix sits just before them: a and d (the diagonal) are zero for a quarter turn
      track.quarter_turn = be(m, box.end - 44, 4) == 0 && be(m, box.end - 28, 4) == 0;
    } else if (box.type == "mdia") {
      return read_mdia(m, box, track);
    }
    return std::nullopt;
  });
}

}  // namespace

std::optional<Error> inspect_mp4(const ByteReader& reader, MediaInfo& info) {
  // Top level, straight from the file: find moov, make sure no box runs past the end (a cut-off
  // download), and never read mdat.
  std::optional<Box> moov;
  std::uint64_t at = 0;
  const std::uint64_t size = reader.size();
  for (int i = 0; at < size && i < kMaxBoxes; ++i) {
    const std::string h = reader.read(at, 16);
    if (h.size() < 8) return bad("truncated " + std::string(to_string(info.type)) + ": a box header is cut off");
    std::uint64_t box_size = be(h, 0, 4);
    std::uint64_t header = 8;
    if (box_size == 1) {
      if (h.size() < 16) return bad("truncated " + std::string(to_string(info.type)) + ": a box header is cut off");
      box_size = be(h, 8, 8);
      header = 16;
    } else if (box_size == 0) {
      box_size = size - at;
    }
    if (box_size < header || box_size > size - at)
      return bad("truncated " + std::string(to_string(info.type)) + ": the " + std::string(h.substr(4, 4)) +
                 " box runs past the end of the file");
    if (h.compare(4, 4, "moov") == 0) moov = Box{"moov", at + header, at + box_size};
    at += box_size;
  }
  if (!moov) return bad(std::string(to_string(info.type)) + " without a moov box (not a complete movie)");
  if (moov->end - moov->payload > kMaxMoovBytes) return bad("the moov box is larger than 64 MiB");
  const std::string m = reader.read(moov->payload, static_cast<std::size_t>(moov->end - moov->payload));
  if (m.size() != moov->end - moov->payload) return bad("the moov box could not be read");

  std::optional<double> movie_duration;
  std::optional<Track> video;
  auto error = for_each_box(m, 0, m.size(), [&](const Box& box) -> std::optional<Error> {
    if (box.type == "mvhd") {
      if (auto e = need(box, 20, "mvhd")) return e;
      const bool v1 = m[box.payload] == 1;
      if (v1 && box.end - box.payload < 32) return bad("corrupt MP4: the mvhd box is too short");
      const std::uint64_t timescale = be(m, box.payload + (v1 ? 20 : 12), 4);
      const std::uint64_t duration = v1 ? be(m, box.payload + 24, 8) : be(m, box.payload + 16, 4);
      if (timescale == 0) return bad("corrupt MP4: the movie timescale is zero");
      movie_duration = static_cast<double>(duration) / static_cast<double>(timescale);
    } else if (box.type == "trak") {
      Track track;
      if (auto e = read_trak(m, box, track)) return e;
      if (track.handler == "soun") info.has_audio = true;
      if (track.handler == "vide" && !video) video = std::move(track);
    }
    return std::nullopt;
  });
  if (error) return error;
  if (!movie_duration) return bad(std::string(to_string(info.type)) + " without a movie header (mvhd)");
  if (!video) return bad(std::string(to_string(info.type)) + " without a video track");
  info.duration_s = movie_duration;
  info.codec = video->codec;
  info.width = video->entry_width ? video->entry_width : video->tkhd_width;
  info.height = video->entry_height ? video->entry_height : video->tkhd_height;
  if (video->quarter_turn) std::swap(info.width, info.height);  // as shown, not as coded
  if (video->samples > 0 && video->sample_time > 0 && video->timescale > 0)
    info.frame_rate = static_cast<double>(video->samples) * static_cast<double>(video->timescale) /
                      static_cast<double>(video->sample_time);
  return std::nullopt;
}

}  // namespace schedulo::http
