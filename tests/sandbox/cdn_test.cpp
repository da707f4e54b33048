// The media CDN, checked by small reference parsers written here from the format specifications
// (ISO 14496-12 boxes, PNG chunks and CRCs, JPEG markers, GIF blocks, RIFF/WebP chunks), not by the
// sandbox's own code.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <fstream>
#include <map>

#include "tests/support/sandbox_process.hpp"

namespace schedulo::test {
namespace {

std::uint64_t be(const std::string& s, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | static_cast<unsigned char>(s.at(at + static_cast<std::size_t>(i)));
  return v;
}
std::uint64_t le(const std::string& s, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s.at(at + static_cast<std::size_t>(i)));
  return v;
}

// ---- MP4: a box walker ----------------------------------------------------------------------------

struct Box {
  std::string type;
  std::uint64_t start = 0;   // offset of the box
  std::uint64_t header = 0;  // 8 or 16
  std::uint64_t size = 0;    // whole box
};

// The boxes in [begin, end) of `data`; a box may run past the data we hold (mdat of a big file).
std::vector<Box> boxes(const std::string& data, std::uint64_t begin, std::uint64_t end) {
  std::vector<Box> out;
  for (std::uint64_t at = begin; at + 8 <= end;) {
    Box b;
    b.start = at;
    b.size = be(data, at, 4);
    b.type = data.substr(at + 4, 4);
    b.header = 8;
    if (b.size == 1) {
      b.size = be(data, at + 8, 8);
      b.header = 16;
    }
    if (b.size < b.header) break;
    out.push_back(b);
    at += b.size;
  }
  return out;
}

const Box* child(const std::vector<Box>& list, const std::string& type) {
  for (const auto& b : list)
    if (b.type == type) return &b;
  return nullptr;
}

// Finds the box at a path like "moov/trak/mdia" (container boxes only on the way).
std::optional<Box> find(const std::string& data, std::uint64_t total, const std::vector<std::string>& path) {
  std::uint64_t begin = 0;
  std::uint64_t end = std::min<std::uint64_t>(total, data.size());
  std::optional<Box> found;
  for (const auto& type : path) {
    const auto list = boxes(data, begin, end);
    const Box* b = child(list, type);
    if (!b) return std::nullopt;
    found = *b;
    begin = b->start + b->header;
    end = std::min<std::uint64_t>(b->start + b->size, data.size());
  }
  return found;
}

// An Exp-Golomb reader over an RBSP (emulation prevention removed).
class BitReader {
 public:
  explicit BitReader(std::string bytes) : bytes_(std::move(bytes)) {}
  std::uint32_t bits(int n) {
    std::uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      const auto byte = static_cast<unsigned char>(bytes_.at(pos_ / 8));
      v = v << 1 | ((byte >> (7 - pos_ % 8)) & 1);
      ++pos_;
    }
    return v;
  }
  std::uint32_t ue() {
    int zeros = 0;
    while (bits(1) == 0) ++zeros;
    return (1U << zeros) - 1 + bits(zeros);
  }

 private:
  std::string bytes_;
  std::size_t pos_ = 0;
};

struct SpsSize {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

SpsSize parse_sps(const std::string& nal) {
  std::string rbsp;
  for (std::size_t i = 1; i < nal.size(); ++i) {
    if (i >= 3 && nal[i] == '\x03' && nal[i - 1] == 0 && nal[i - 2] == 0) continue;
    rbsp += nal[i];
  }
  BitReader r(rbsp);
  const auto profile = r.bits(8);
  r.bits(16);  // constraints, level
  r.ue();      // sps id
  EXPECT_EQ(profile, 66u) << "Baseline";
  r.ue();  // log2_max_frame_num_minus4
  const auto poc_type = r.ue();
  EXPECT_EQ(poc_type, 2u);
  r.ue();     // max_num_ref_frames
  r.bits(1);  // gaps
  const auto w_mbs = r.ue() + 1;
  const auto h_mbs = r.ue() + 1;
  EXPECT_EQ(r.bits(1), 1u) << "frame_mbs_only";
  r.bits(1);  // direct_8x8
  SpsSize size{w_mbs * 16, h_mbs * 16};
  if (r.bits(1)) {
    const auto left = r.ue(), right = r.ue(), top = r.ue(), bottom = r.ue();
    size.width -= 2 * (left + right);
    size.height -= 2 * (top + bottom);
  }
  return size;
}

class Cdn : public ::testing::Test {
 protected:
  HttpReply get(const std::string& target) { return http(sandbox.port(), "GET", target); }
  // The file at `target`, checked for status, type and size; empty when any of them is wrong.
  std::string file(const std::string& target, const std::string& type, std::size_t size) {
    const auto reply = get(target);
    EXPECT_EQ(reply.status, 200) << target;
    EXPECT_EQ(reply.header("content-type"), type);
    EXPECT_EQ(reply.body.size(), size);
    return reply.status == 200 && reply.body.size() == size ? reply.body : std::string();
  }
  SandboxProcess sandbox;
};

TEST_F(Cdn, Mp4HasARealMoovAndAnMdatFillingTheRequestedSize) {
  const std::string f = file("/cdn/mp4/launch.mp4?bytes=3000000&width=1080&height=1920&duration=3&fps=30", "video/mp4", 3000000);
  ASSERT_FALSE(f.empty());
  const auto top = boxes(f, 0, f.size());
  ASSERT_GE(top.size(), 3u);
  EXPECT_EQ(top[0].type, "ftyp");
  EXPECT_EQ(f.substr(8, 4), "isom");
  EXPECT_EQ(top[1].type, "moov");
  EXPECT_EQ(top[2].type, "mdat");
  EXPECT_EQ(top[2].start + top[2].size, f.size()) << "the boxes cover the file exactly";

  const auto mvhd = find(f, f.size(), {"moov", "mvhd"});
  ASSERT_TRUE(mvhd);
  EXPECT_EQ(be(f, mvhd->start + 20, 4), 1000u) << "timescale";
  EXPECT_EQ(be(f, mvhd->start + 24, 4), 3000u) << "duration: 3 s";
  const auto tkhd = find(f, f.size(), {"moov", "trak", "tkhd"});
  ASSERT_TRUE(tkhd);
  EXPECT_EQ(be(f, tkhd->start + 84, 4) >> 16, 1080u);
  EXPECT_EQ(be(f, tkhd->start + 88, 4) >> 16, 1920u);
  const auto mdhd = find(f, f.size(), {"moov", "trak", "mdia", "mdhd"});
  ASSERT_TRUE(mdhd);
  const auto timescale = be(f, mdhd->start + 20, 4);
  EXPECT_EQ(be(f, mdhd->start + 24, 4) / timescale, 3u);
  const auto hdlr = find(f, f.size(), {"moov", "trak", "mdia", "hdlr"});
  ASSERT_TRUE(hdlr);
  EXPECT_EQ(f.substr(hdlr->start + 16, 4), "vide");
  const auto stsd = find(f, f.size(), {"moov", "trak", "mdia", "minf", "stbl", "stsd"});
  ASSERT_TRUE(stsd);
  const auto entries = boxes(f, stsd->start + 16, stsd->start + stsd->size);
  ASSERT_EQ(entries.size(), 1u);
  const Box& avc1 = entries[0];
  EXPECT_EQ(avc1.type, "avc1");
  EXPECT_EQ(be(f, avc1.start + 32, 2), 1080u);
  EXPECT_EQ(be(f, avc1.start + 34, 2), 1920u);
  const auto inner = boxes(f, avc1.start + 86, avc1.start + avc1.size);
  const Box* avcc = child(inner, "avcC");
  ASSERT_NE(avcc, nullptr);
  const auto c = avcc->start + 8;
  EXPECT_EQ(be(f, c, 1), 1u) << "configurationVersion";
  EXPECT_EQ(be(f, c + 5, 1) & 0x1F, 1u) << "one SPS";
  const auto sps_len = be(f, c + 6, 2);
  const auto sps = parse_sps(f.substr(c + 8, sps_len));
  EXPECT_EQ(sps.width, 1080u);
  EXPECT_EQ(sps.height, 1920u);

  const auto stsz = find(f, f.size(), {"moov", "trak", "mdia", "minf", "stbl", "stsz"});
  ASSERT_TRUE(stsz);
  const auto count = be(f, stsz->start + 16, 4);
  EXPECT_EQ(count, 90u) << "3 s at 30 fps";
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < count; ++i) sum += be(f, stsz->start + 20 + 4 * i, 4);
  EXPECT_EQ(sum, top[2].size - top[2].header) << "the samples fill the mdat";
  const auto stco = find(f, f.size(), {"moov", "trak", "mdia", "minf", "stbl", "stco"});
  ASSERT_TRUE(stco);
  EXPECT_EQ(be(f, stco->start + 16, 4), top[2].start + top[2].header) << "the chunk starts the mdat payload";
  // The first sample is a length-prefixed NAL unit of exactly its stsz size.
  const auto first = top[2].start + top[2].header;
  EXPECT_EQ(be(f, first, 4) + 4, be(f, stsz->start + 20, 4));
  EXPECT_EQ(f[first + 4] & 0x1F, 5) << "an IDR slice";
}

TEST_F(Cdn, Mp4Over4GiBUsesA64BitMdat) {
  std::uint64_t received = 0;
  const std::uint64_t size = 5ULL << 30;
  const auto reply = http_get_prefix(sandbox.port(), "/cdn/mp4?bytes=" + std::to_string(size) + "&duration=600", 1 << 20,
                                     false, received);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_length, size);
  const auto top = boxes(reply.body, 0, reply.body.size());
  ASSERT_GE(top.size(), 3u);
  EXPECT_EQ(top[2].type, "mdat");
  EXPECT_EQ(top[2].header, 16u);
  EXPECT_EQ(top[2].start + top[2].size, size);
}

TEST_F(Cdn, LargeFilesAreStreamedNotHeldInMemory) {
  std::uint64_t received = 0;
  const std::uint64_t size = 512ULL << 20;
  const auto reply = http_get_prefix(sandbox.port(), "/cdn/mp4?bytes=" + std::to_string(size) + "&duration=60", 4096,
                                     true, received);
  EXPECT_EQ(received, size);
  std::ifstream status("/proc/" + std::to_string(sandbox.pid()) + "/status");
  std::string line;
  std::uint64_t peak_kb = 0;
  while (std::getline(status, line))
    if (line.starts_with("VmHWM:")) peak_kb = std::stoull(line.substr(6));
  ASSERT_GT(peak_kb, 0u);
  EXPECT_LT(peak_kb, 256u * 1024) << "peak resident memory stays well under the 512 MiB file";
}

// ---- PNG: chunks with their CRCs, IHDR, the inflated IDAT -----------------------------------------

TEST_F(Cdn, PngChunksCarryValidCrcsAndTheImageInflatesToItsSize) {
  const std::string f = file("/cdn/png?bytes=150000&width=640&height=480", "image/png", 150000);
  ASSERT_FALSE(f.empty());
  ASSERT_EQ(f.substr(0, 8), "\x89PNG\r\n\x1a\n");
  std::vector<std::string> types;
  std::string idat;
  std::uint64_t width = 0, height = 0;
  for (std::size_t at = 8; at + 12 <= f.size();) {
    const auto length = be(f, at, 4);
    const auto type = f.substr(at + 4, 4);
    const auto crc = crc32(0, reinterpret_cast<const Bytef*>(f.data() + at + 4), static_cast<uInt>(length + 4));
    EXPECT_EQ(crc, be(f, at + 8 + length, 4)) << "CRC of " << type;
    if (type == "IHDR") {
      width = be(f, at + 8, 4);
      height = be(f, at + 12, 4);
      EXPECT_EQ(be(f, at + 16, 1), 8u);
      EXPECT_EQ(be(f, at + 17, 1), 2u) << "RGB";
    }
    if (type == "IDAT") idat += f.substr(at + 8, length);
    types.push_back(type);
    at += 12 + length;
  }
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front(), "IHDR");
  EXPECT_EQ(types.back(), "IEND");
  EXPECT_EQ(width, 640u);
  EXPECT_EQ(height, 480u);
  std::string raw(static_cast<std::size_t>((1 + 3 * width) * height), '\0');
  uLongf raw_len = raw.size();
  ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_len, reinterpret_cast<const Bytef*>(idat.data()),
                       idat.size()),
            Z_OK);
  EXPECT_EQ(raw_len, raw.size());
}

// ---- JPEG: markers from SOI to EOI ----------------------------------------------------------------

TEST_F(Cdn, JpegMarkersLeadFromSoiThroughSofToEoi) {
  const std::string f = file("/cdn/jpeg?bytes=200000&width=1200&height=628", "image/jpeg", 200000);
  ASSERT_FALSE(f.empty());
  ASSERT_EQ(be(f, 0, 2), 0xFFD8u);
  std::map<int, int> seen;
  std::size_t at = 2;
  std::uint64_t width = 0, height = 0;
  while (at + 4 <= f.size()) {
    ASSERT_EQ(static_cast<unsigned char>(f[at]), 0xFF) << "a marker at " << at;
    const int marker = static_cast<unsigned char>(f[at + 1]);
    ++seen[marker];
    const auto length = be(f, at + 2, 2);
    if (marker == 0xC0) {
      height = be(f, at + 5, 2);
      width = be(f, at + 7, 2);
    }
    at += 2 + length;
    if (marker == 0xDA) break;  // entropy-coded data follows
  }
  // Entropy data: no marker inside (0xFF only as stuffed 0xFF00), then EOI at the very end.
  for (std::size_t i = at; i + 2 < f.size(); ++i)
    if (static_cast<unsigned char>(f[i]) == 0xFF) {
      ASSERT_EQ(f[i + 1], 0) << "marker inside the scan at " << i;
    }
  EXPECT_EQ(be(f, f.size() - 2, 2), 0xFFD9u);
  EXPECT_EQ(seen[0xE0], 1) << "APP0 JFIF";
  EXPECT_EQ(seen[0xC0], 1) << "baseline SOF0";
  EXPECT_EQ(seen[0xC4], 2) << "DC and AC tables";
  EXPECT_EQ(seen[0xDB], 1);
  EXPECT_EQ(width, 1200u);
  EXPECT_EQ(height, 628u);
}

// ---- GIF: header, blocks to the trailer, LZW decoded to the pixel count ---------------------------

std::uint64_t lzw_pixels(const std::string& data, int min_code_size) {
  // A plain GIF LZW decoder that counts the pixels the codes stand for.
  const int clear = 1 << min_code_size;
  std::vector<std::uint64_t> length(4096, 0);
  int size = min_code_size + 1;
  int next = clear + 2;
  int previous = -1;
  std::uint64_t pixels = 0;
  std::size_t bit = 0;
  for (;;) {
    if (bit + static_cast<std::size_t>(size) > data.size() * 8) break;
    int code = 0;
    for (int i = 0; i < size; ++i, ++bit)
      code |= ((static_cast<unsigned char>(data[bit / 8]) >> (bit % 8)) & 1) << i;
    if (code == clear) {
      size = min_code_size + 1;
      next = clear + 2;
      previous = -1;
      continue;
    }
    if (code == clear + 1) return pixels;
    std::uint64_t len = code < clear ? 1 : (code < next ? length[static_cast<std::size_t>(code)] : 0);
    if (code >= next) len = length[static_cast<std::size_t>(previous)] + 1;  // the KwKwK case
    pixels += len;
    if (previous >= 0 && next < 4096) {
      length[static_cast<std::size_t>(next)] = (previous < clear ? 1 : length[static_cast<std::size_t>(previous)]) + 1;
      ++next;
      if (next == (1 << size) && size < 12) ++size;
    }
    for (int i = 0; i < clear; ++i) length[static_cast<std::size_t>(i)] = 1;
    previous = code;
  }
  return pixels;
}

TEST_F(Cdn, GifBlocksWalkToTheTrailerAndTheImageHasEveryPixel) {
  const std::string f = file("/cdn/gif?bytes=80000&width=300&height=200", "image/gif", 80000);
  ASSERT_FALSE(f.empty());
  ASSERT_EQ(f.substr(0, 6), "GIF89a");
  EXPECT_EQ(le(f, 6, 2), 300u);
  EXPECT_EQ(le(f, 8, 2), 200u);
  std::size_t at = 13;
  if (f[10] & 0x80) at += 3u * (1u << ((f[10] & 7) + 1));
  std::uint64_t pixels = 0;
  bool trailer = false;
  while (at < f.size()) {
    const auto block = static_cast<unsigned char>(f[at]);
    if (block == 0x3B) {
      trailer = true;
      EXPECT_EQ(at + 1, f.size()) << "the trailer ends the file";
      break;
    }
    std::string data;
    int min_code = 0;
    if (block == 0x21) {
      at += 2;
    } else {
      ASSERT_EQ(block, 0x2C) << "image descriptor at " << at;
      EXPECT_EQ(le(f, at + 5, 2), 300u);
      at += 10;
      min_code = f[at++];
    }
    for (std::size_t n; (n = static_cast<unsigned char>(f.at(at))) != 0; at += 1 + n) data += f.substr(at + 1, n);
    ++at;
    if (block == 0x2C) pixels = lzw_pixels(data, min_code);
  }
  EXPECT_TRUE(trailer);
  EXPECT_EQ(pixels, 300u * 200u);
}

// ---- WebP: RIFF chunks and the VP8L header --------------------------------------------------------

TEST_F(Cdn, WebpRiffChunksCoverTheFileAndVp8lNamesTheSize) {
  const std::string f = file("/cdn/webp?bytes=50000&width=800&height=600", "image/webp", 50000);
  ASSERT_FALSE(f.empty());
  ASSERT_EQ(f.substr(0, 4), "RIFF");
  EXPECT_EQ(le(f, 4, 4) + 8, f.size()) << "RIFF size";
  EXPECT_EQ(f.substr(8, 4), "WEBP");
  std::vector<std::string> chunks;
  std::size_t at = 12;
  while (at + 8 <= f.size()) {
    const auto type = f.substr(at, 4);
    const auto size = le(f, at + 4, 4);
    if (type == "VP8L") {
      EXPECT_EQ(static_cast<unsigned char>(f[at + 8]), 0x2Fu);
      const auto bits = le(f, at + 9, 4);
      EXPECT_EQ((bits & 0x3FFF) + 1, 800u);
      EXPECT_EQ(((bits >> 14) & 0x3FFF) + 1, 600u);
      EXPECT_EQ(bits >> 29, 0u) << "version 0";
    }
    if (type == "VP8X") {
      EXPECT_EQ(le(f, at + 12, 3) + 1, 800u);
      EXPECT_EQ(le(f, at + 15, 3) + 1, 600u);
    }
    chunks.push_back(type);
    at += 8 + size + (size % 2);
  }
  EXPECT_EQ(at, f.size()) << "the chunks cover the file";
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[0], "VP8X");
  EXPECT_EQ(chunks[1], "VP8L");
}

// ---- modes ------------------------------------------------------------------------------------------

TEST_F(Cdn, TruncatedModeAnnouncesTheWholeLengthAndSendsLess) {
  const auto reply = get("/cdn/jpeg?bytes=100000&truncate=1000");
  EXPECT_FALSE(reply.complete);
  if (reply.answered) {
    EXPECT_EQ(reply.content_length, 100000u);
    EXPECT_LE(reply.body.size(), 1000u);
  } else {
    EXPECT_TRUE(reply.reset);
  }
}

TEST_F(Cdn, SlowModePacesTheBodyButDeliversItWhole) {
  const auto start = std::chrono::steady_clock::now();
  const auto reply = get("/cdn/png?bytes=5000&width=8&height=8&slow_ms=40&chunk=1000");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(reply.complete);
  EXPECT_EQ(reply.body.size(), 5000u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(4 * 40)) << "four pauses between five chunks";
}

TEST_F(Cdn, WrongTypeModeLiesInContentType) {
  const auto reply = get("/cdn/png?bytes=2000&width=8&height=8&type=text/html");
  EXPECT_EQ(reply.header("content-type"), "text/html");
  EXPECT_EQ(reply.body.substr(1, 3), "PNG") << "the bytes are still a PNG";
  EXPECT_EQ(get("/cdn/gif?wrong_type=1&bytes=2000&width=8&height=8").header("content-type"), "text/html; charset=utf-8");
}

TEST_F(Cdn, HeadAnswersTheLengthWithoutTheBody) {
  HttpConnection connection(sandbox.port());
  const auto head = connection.request("HEAD", "/cdn/mp4?bytes=123456");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_length, 123456u);
  const auto next = connection.request("GET", "/_sandbox/health");
  EXPECT_EQ(next.status, 200) << "no stray body bytes on the connection";
}

TEST_F(Cdn, OptionsOutsideTheLimitsAre400) {
  EXPECT_EQ(get("/cdn/png?width=0").status, 400);
  EXPECT_EQ(get("/cdn/mp4?width=1081").status, 400) << "H.264 4:2:0 needs even sizes";
  EXPECT_EQ(get("/cdn/bmp").status, 400);
  EXPECT_EQ(get("/cdn/jpeg?bytes=lots").status, 400);
}

}  // namespace
}  // namespace schedulo::test
