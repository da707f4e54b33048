#include "tests/support/media_files.hpp"

#include <array>
#include <bit>

namespace schedulo::test {
namespace {

void put_be(std::string& out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}
void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

std::uint32_t crc32(const std::string& data) {
  std::uint32_t crc = 0xffffffffu;
  for (const char ch : data) {
    crc ^= static_cast<unsigned char>(ch);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// An EBML element: its ID bytes, an 8-byte size (0x01 then 7 bytes), the payload.
std::string ebml(std::string_view id, const std::string& payload) {
  std::string out(id);
  out += '\x01';
  put_be(out, payload.size(), 7);
  return out + payload;
}

// An EBML unsigned integer payload: big-endian, as few bytes as needed (at least one).
std::string uint_bytes(std::uint64_t value) {
  std::string out;
  int bytes = 1;
  while (bytes < 8 && (value >> (8 * bytes)) != 0) ++bytes;
  put_be(out, value, bytes);
  return out;
}

std::string box(std::string_view type, const std::string& payload) {
  std::string out;
  put_be(out, 8 + payload.size(), 4);
  out += type;
  return out + payload;
}

std::string full_box(std::string_view type, int version, const std::string& payload) {
  std::string body;
  put_be(body, static_cast<std::uint64_t>(version) << 24, 4);
  return box(type, body + payload);
}

std::string matrix(bool quarter_turn) {
  std::string out;
  const std::array<std::uint32_t, 9> identity{0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000};
  const std::array<std::uint32_t, 9> turned{0, 0x10000, 0, 0xffff0000, 0, 0, 0, 0, 0x40000000};
  for (const auto v : quarter_turn ? turned : identity) put_be(out, v, 4);
  return out;
}

// mvhd/mdhd/tkhd times: creation, modification (and track id for tkhd) in 32 or 64 bits.
std::string times(bool v1) { return std::string(v1 ? 16 : 8, '\0'); }

std::string tkhd(const Mp4Spec& s, std::uint32_t track_id, bool video) {
  std::string p = times(s.version1_headers);
  put_be(p, track_id, 4);
  put_be(p, 0, 4);                                          // reserved
  put_be(p, s.movie_duration, s.version1_headers ? 8 : 4);  // duration
  p += std::string(8, '\0');                                // reserved
  put_be(p, 0, 2);                                          // layer
  put_be(p, 0, 2);                                          // alternate group
  put_be(p, video ? 0 : 0x0100, 2);                         // volume
  put_be(p, 0, 2);
  p += matrix(video && s.quarter_turn);
  put_be(p, video ? std::uint64_t{s.width} << 16 : 0, 4);
  put_be(p, video ? std::uint64_t{s.height} << 16 : 0, 4);
  return full_box("tkhd", s.version1_headers ? 1 : 0, p);
}

std::string mdhd(const Mp4Spec& s, std::uint32_t timescale, std::uint64_t duration) {
  std::string p = times(s.version1_headers);
  put_be(p, timescale, 4);
  put_be(p, duration, s.version1_headers ? 8 : 4);
  put_be(p, 0x55c4, 2);  // language "und"
  put_be(p, 0, 2);
  return full_box("mdhd", s.version1_headers ? 1 : 0, p);
}

std::string hdlr(std::string_view handler) {
  std::string p(4, '\0');  // pre_defined
  p += handler;
  p += std::string(12, '\0');
  p += "handler";
  p += '\0';
  return full_box("hdlr", 0, p);
}

std::string visual_entry(const Mp4Spec& s) {
  std::string p(6, '\0');
  put_be(p, 1, 2);                  // data reference index
  p += std::string(16, '\0');       // pre_defined, reserved
  put_be(p, s.width, 2);
  put_be(p, s.height, 2);
  put_be(p, 0x00480000, 4);         // 72 dpi
  put_be(p, 0x00480000, 4);
  put_be(p, 0, 4);
  put_be(p, 1, 2);                  // frame count
  p += std::string(32, '\0');       // compressor name
  put_be(p, 0x18, 2);               // depth
  put_be(p, 0xffff, 2);             // pre_defined -1
  return box(s.codec, p);
}

std::string audio_entry() {
  std::string p(6, '\0');
  put_be(p, 1, 2);
  p += std::string(8, '\0');
  put_be(p, 2, 2);       // channels
  put_be(p, 16, 2);      // sample size
  put_be(p, 0, 4);
  put_be(p, std::uint64_t{48000} << 16, 4);
  return box("mp4a", p);
}

std::string stbl(const std::string& entry, std::uint32_t samples, std::uint32_t delta) {
  std::string stsd;
  put_be(stsd, 1, 4);
  stsd += entry;
  std::string stts;
  put_be(stts, 1, 4);
  put_be(stts, samples, 4);
  put_be(stts, delta, 4);
  return box("stbl", full_box("stsd", 0, stsd) + full_box("stts", 0, stts));
}

std::string trak(const Mp4Spec& s, bool video) {
  const std::uint32_t timescale = video ? s.media_timescale : 48000;
  const std::uint64_t samples = video ? s.frames : 100;
  const std::uint64_t delta = video ? s.frame_delta : 1024;
  const std::string minf = box("minf", stbl(video ? visual_entry(s) : audio_entry(), static_cast<std::uint32_t>(samples),
                                            static_cast<std::uint32_t>(delta)));
  const std::string mdia = box("mdia", mdhd(s, timescale, samples * delta) + hdlr(video ? "vide" : "soun") + minf);
  return box("trak", tkhd(s, video ? 1 : 2, video) + mdia);
}

}  // namespace

std::string jpeg_file(std::uint16_t width, std::uint16_t height) {
  std::string out = "\xff\xd8";
  out += std::string("\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);  // APP0
  out += "\xff\xdb";                                                                          // DQT
  put_be(out, 67, 2);
  out += std::string(65, '\x01');
  out += "\xff\xc0";  // SOF0
  put_be(out, 17, 2);
  out += '\x08';
  put_be(out, height, 2);
  put_be(out, width, 2);
  out += std::string("\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10);
  out += std::string("\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00", 14);  // SOS
  out += std::string(32, '\x55');
  return out + "\xff\xd9";
}

std::string png_file(std::uint32_t width, std::uint32_t height) {
  std::string out = "\x89PNG\r\n\x1a\n";
  std::string ihdr = "IHDR";
  put_be(ihdr, width, 4);
  put_be(ihdr, height, 4);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);
  put_be(out, 13, 4);
  out += ihdr;
  put_be(out, crc32(ihdr), 4);
  put_be(out, 0, 4);
  out += "IEND";
  put_be(out, crc32("IEND"), 4);
  return out;
}

std::string gif_file(std::uint16_t width, std::uint16_t height) {
  std::string out = "GIF89a";
  put_le(out, width, 2);
  put_le(out, height, 2);
  out += std::string("\x00\x00\x00", 3);
  return out + ";";
}

std::string webp_file(WebpKind kind, std::uint32_t width, std::uint32_t height) {
  std::string chunk;
  if (kind == WebpKind::extended) {
    chunk = "VP8X";
    put_le(chunk, 10, 4);
    chunk += std::string(4, '\0');  // flags, reserved
    put_le(chunk, width - 1, 3);
    put_le(chunk, height - 1, 3);
  } else if (kind == WebpKind::lossy) {
    chunk = "VP8 ";
    put_le(chunk, 10, 4);
    chunk += std::string("\x10\x02\x00\x9d\x01\x2a", 6);  // frame tag (key frame), start code
    put_le(chunk, width & 0x3fff, 2);
    put_le(chunk, height & 0x3fff, 2);
  } else {
    chunk = "VP8L";
    put_le(chunk, 5, 4);
    chunk += '\x2f';
    put_le(chunk, ((width - 1) & 0x3fff) | (((height - 1) & 0x3fff) << 14), 4);
    chunk += '\0';  // pad to even
  }
  std::string out = "RIFF";
  put_le(out, 4 + chunk.size(), 4);
  return out + "WEBP" + chunk;
}

std::string webm_file(const WebmSpec& s) {
  const std::string header = ebml("\x42\x86", uint_bytes(1)) + ebml("\x42\xf7", uint_bytes(1)) +
                             ebml("\x42\xf2", uint_bytes(4)) + ebml("\x42\xf3", uint_bytes(8)) +
                             ebml("\x42\x82", "webm") + ebml("\x42\x87", uint_bytes(4)) +
                             ebml("\x42\x85", uint_bytes(2));
  std::string duration;
  put_be(duration, std::bit_cast<std::uint64_t>(s.duration_ms), 8);
  const std::string info = ebml("\x2a\xd7\xb1", uint_bytes(1'000'000)) + ebml("\x44\x89", duration);
  const std::string video = ebml("\xb0", uint_bytes(s.width)) + ebml("\xba", uint_bytes(s.height));
  std::string tracks = ebml("\xae", ebml("\xd7", uint_bytes(1)) + ebml("\x83", uint_bytes(1)) +
                                        ebml("\x86", s.codec_id) + ebml("\x23\xe3\x83", uint_bytes(s.frame_ns)) +
                                        ebml("\xe0", video));
  if (s.audio_track)
    tracks += ebml("\xae", ebml("\xd7", uint_bytes(2)) + ebml("\x83", uint_bytes(2)) + ebml("\x86", "A_OPUS"));
  const std::string cluster = ebml("\x1f\x43\xb6\x75", ebml("\xe7", uint_bytes(0)) + std::string(64, '\x77'));
  const std::string body = ebml("\x15\x49\xa9\x66", info) + ebml("\x16\x54\xae\x6b", tracks) + cluster;
  std::string segment = "\x18\x53\x80\x67";
  if (s.unknown_segment_size) {
    segment += "\x01\xff\xff\xff\xff\xff\xff\xff" + body;
  } else {
    segment = ebml(segment, body);
  }
  return ebml("\x1a\x45\xdf\xa3", header) + segment;
}

std::string mp4_file(const Mp4Spec& s) {
  std::string ftyp_payload = s.quicktime ? "qt  " : "isom";
  put_be(ftyp_payload, 0x200, 4);
  ftyp_payload += s.quicktime ? "qt  " : "isomiso2avc1mp41";
  std::string mvhd = times(s.version1_headers);
  put_be(mvhd, s.movie_timescale, 4);
  put_be(mvhd, s.movie_duration, s.version1_headers ? 8 : 4);
  put_be(mvhd, 0x00010000, 4);  // rate
  put_be(mvhd, 0x0100, 2);      // volume
  mvhd += std::string(10, '\0');
  mvhd += matrix(false);
  mvhd += std::string(24, '\0');
  put_be(mvhd, 3, 4);  // next track id
  std::string moov_payload = full_box("mvhd", s.version1_headers ? 1 : 0, mvhd) + trak(s, true);
  if (s.audio_track) moov_payload += trak(s, false);
  const std::string moov = box("moov", moov_payload);
  const std::string mdat = box("mdat", std::string(s.mdat_bytes, '\x42'));
  const std::string ftyp = box("ftyp", ftyp_payload);
  return s.moov_last ? ftyp + mdat + moov : ftyp + moov + mdat;
}

}  // namespace schedulo::test
