#include "sandbox/cdn/media.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <vector>

namespace schedulo::sandbox::cdn {
namespace {

constexpr std::uint32_t kMaxImageSide = 8192;
constexpr std::uint32_t kMaxVideoSide = 4096;
constexpr std::uint64_t kMaxBytes = 16ULL << 30;

// ---- byte helpers ---------------------------------------------------------------------------------

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

// ---- a body made of pieces, each generated at any offset ------------------------------------------

struct Piece {
  std::uint64_t length = 0;
  // Writes `n` bytes of the piece starting at `offset` into `out`.
  std::function<void(std::uint64_t offset, char* out, std::size_t n)> fill;
};

Piece literal(std::string bytes) {
  auto shared = std::make_shared<const std::string>(std::move(bytes));
  return {shared->size(), [shared](std::uint64_t offset, char* out, std::size_t n) {
            std::memcpy(out, shared->data() + offset, n);
          }};
}
Piece zeros(std::uint64_t length) {
  return {length, [](std::uint64_t, char* out, std::size_t n) { std::memset(out, 0, n); }};
}

// Padding made of frames the format ignores (comment segments, ancillary chunks): each frame is
// header + zeros + trailer. Frames are `max` bytes long but the last one or two, which are sized so
// the total is exact (every frame at least `min` bytes).
struct Framing {
  std::uint64_t max = 0;
  std::uint64_t min = 0;
  std::function<std::string(std::uint64_t frame_size)> header;
  std::function<std::string(std::uint64_t frame_size)> trailer;  // may be empty
};

// Whether `total` bytes can be laid out in frames.
bool frameable(std::uint64_t total, const Framing& f) { return total == 0 || total >= f.min; }

Piece framed_padding(std::uint64_t total, const Framing& framing) {
  // Regular frames first, then up to two tail frames.
  std::uint64_t regular = total / framing.max;
  std::uint64_t rest = total % framing.max;
  std::vector<std::uint64_t> tail;
  if (rest >= framing.min) {
    tail.push_back(rest);
  } else if (rest > 0) {  // borrow from the last regular frame: (max + rest - min) + min
    --regular;
    tail.push_back(framing.max + rest - framing.min);
    tail.push_back(framing.min);
  }
  auto frame_bytes = std::make_shared<std::map<std::uint64_t, std::pair<std::string, std::string>>>();
  auto parts = [framing, frame_bytes](std::uint64_t size) -> const std::pair<std::string, std::string>& {
    auto it = frame_bytes->find(size);
    if (it == frame_bytes->end())
      it = frame_bytes->emplace(size, std::make_pair(framing.header(size), framing.trailer ? framing.trailer(size) : ""))
               .first;
    return it->second;
  };
  return {total, [=](std::uint64_t offset, char* out, std::size_t n) {
            while (n > 0) {
              std::uint64_t start = 0;
              std::uint64_t size = 0;
              if (offset < regular * framing.max) {
                start = offset / framing.max * framing.max;
                size = framing.max;
              } else {
                start = regular * framing.max;
                for (auto t : tail) {
                  if (offset < start + t) {
                    size = t;
                    break;
                  }
                  start += t;
                }
              }
              const auto& [head, trail] = parts(size);
              const std::uint64_t in = offset - start;
              const std::uint64_t body_end = size - trail.size();
              std::size_t take = 0;
              if (in < head.size()) {
                take = static_cast<std::size_t>(std::min<std::uint64_t>(n, head.size() - in));
                std::memcpy(out, head.data() + in, take);
              } else if (in < body_end) {
                take = static_cast<std::size_t>(std::min<std::uint64_t>(n, body_end - in));
                std::memset(out, 0, take);
              } else {
                take = static_cast<std::size_t>(std::min<std::uint64_t>(n, size - in));
                std::memcpy(out, trail.data() + (in - body_end), take);
              }
              out += take;
              offset += take;
              n -= take;
            }
          }};
}

class PieceSource final : public server::BodySource {
 public:
  explicit PieceSource(std::vector<Piece> pieces) : pieces_(std::move(pieces)) {}
  std::uint64_t length() const {
    std::uint64_t n = 0;
    for (const auto& p : pieces_) n += p.length;
    return n;
  }
  std::size_t read(char* out, std::size_t max) override {
    std::size_t written = 0;
    while (written < max && index_ < pieces_.size()) {
      const auto& piece = pieces_[index_];
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(max - written, piece.length - offset_));
      if (n > 0) piece.fill(offset_, out + written, n);
      written += n;
      offset_ += n;
      if (offset_ == piece.length) {
        ++index_;
        offset_ = 0;
      }
    }
    return written;
  }

 private:
  std::vector<Piece> pieces_;
  std::size_t index_ = 0;
  std::uint64_t offset_ = 0;
};

MediaFile finish(std::string content_type, std::vector<Piece> pieces) {
  auto source = std::make_unique<PieceSource>(std::move(pieces));
  MediaFile file;
  file.length = source->length();
  file.content_type = std::move(content_type);
  file.body = std::move(source);
  return file;
}

// head + padding + tail, where the padding makes up the difference to the wanted size when it can.
MediaFile assemble(std::string content_type, std::vector<Piece> head, std::vector<Piece> tail, std::uint64_t wanted,
                   const Framing& framing) {
  std::uint64_t natural = 0;
  for (const auto& p : head) natural += p.length;
  for (const auto& p : tail) natural += p.length;
  std::vector<Piece> pieces = std::move(head);
  if (wanted > natural && frameable(wanted - natural, framing)) pieces.push_back(framed_padding(wanted - natural, framing));
  for (auto& p : tail) pieces.push_back(std::move(p));
  return finish(std::move(content_type), std::move(pieces));
}

// ---- PNG: IHDR, one zlib IDAT of grey RGB rows, padding in "paDd" ancillary chunks, IEND -----------

std::string png_chunk(const char* type, const std::string& data) {
  std::string out;
  put_be(out, data.size(), 4);
  out.append(type, 4);
  out += data;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(type), 4);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  put_be(out, crc, 4);
  return out;
}

// CRC-32 of `n` zero bytes appended to a stream whose CRC is `crc`, in O(log n) (zlib's combine).
uLong crc_with_zeros(uLong crc, std::uint64_t n) {
  static const std::string kBlock(1 << 16, '\0');
  const uLong block_crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(kBlock.data()),
                                static_cast<uInt>(kBlock.size()));
  // crc of zeros(k * 64 KiB) by doubling, then the remainder directly.
  std::uint64_t blocks = n / kBlock.size();
  uLong power = block_crc;        // crc of zeros(2^i blocks)
  std::uint64_t power_len = kBlock.size();
  uLong zeros_crc = crc32(0L, Z_NULL, 0);
  std::uint64_t zeros_len = 0;
  while (blocks > 0) {
    if (blocks & 1) {
      zeros_crc = zeros_len == 0 ? power : crc32_combine64(zeros_crc, power, static_cast<z_off64_t>(power_len));
      zeros_len += power_len;
    }
    power = crc32_combine64(power, power, static_cast<z_off64_t>(power_len));
    power_len *= 2;
    blocks >>= 1;
  }
  const auto rest = static_cast<uInt>(n % kBlock.size());
  const uLong rest_crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(kBlock.data()), rest);
  zeros_crc = zeros_len == 0 ? rest_crc : crc32_combine64(zeros_crc, rest_crc, rest);
  return crc32_combine64(crc, zeros_crc, static_cast<z_off64_t>(n));
}

MediaFile make_png(const MediaSpec& s) {
  std::string ihdr;
  put_be(ihdr, s.width, 4);
  put_be(ihdr, s.height, 4);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, deflate, adaptive filter, no interlace
  // Rows of filter type 0 + grey pixels, deflated one row at a time.
  std::string idat;
  z_stream z{};
  deflateInit(&z, Z_DEFAULT_COMPRESSION);
  std::string row(1 + std::size_t{3} * s.width, '\x80');
  row[0] = '\0';
  std::vector<unsigned char> out(64 * 1024);
  auto drain = [&](int flush) {
    int rc = Z_OK;
    do {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      rc = deflate(&z, flush);
      idat.append(reinterpret_cast<const char*>(out.data()), out.size() - z.avail_out);
    } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  };
  for (std::uint32_t y = 0; y < s.height; ++y) {
    z.next_in = reinterpret_cast<Bytef*>(row.data());
    z.avail_in = static_cast<uInt>(row.size());
    drain(Z_NO_FLUSH);
  }
  drain(Z_FINISH);
  deflateEnd(&z);
  std::string head = "\x89PNG\r\n\x1a\n";
  head += png_chunk("IHDR", ihdr);
  head += png_chunk("IDAT", idat);
  Framing framing;
  framing.max = (1ULL << 30) + 12;
  framing.min = 12;
  framing.header = [](std::uint64_t size) {
    std::string h;
    put_be(h, size - 12, 4);
    h += "paDd";  // ancillary, private, safe to copy: decoders skip it
    return h;
  };
  framing.trailer = [](std::uint64_t size) {
    std::string t;
    const uLong type_crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>("paDd"), 4);
    put_be(t, crc_with_zeros(type_crc, size - 12), 4);
    return t;
  };
  std::vector<Piece> head_pieces;
  head_pieces.push_back(literal(std::move(head)));
  std::vector<Piece> tail;
  tail.push_back(literal(png_chunk("IEND", "")));
  return assemble("image/png", std::move(head_pieces), std::move(tail), s.bytes, framing);
}

// ---- JPEG: baseline grayscale, every block DC 0 / EOB with one-symbol Huffman tables --------------

MediaFile make_jpeg(const MediaSpec& s) {
  std::string head("\xFF\xD8", 2);  // SOI
  head += std::string("\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);  // APP0 JFIF 1.1
  std::string tables;
  tables += std::string("\xFF\xDB\x00\x43\x00", 5) + std::string(64, '\x10');  // DQT 0, all 16
  tables += std::string("\xFF\xC0\x00\x0B\x08", 5);                            // SOF0, 8-bit
  put_be(tables, s.height, 2);
  put_be(tables, s.width, 2);
  tables += std::string("\x01\x01\x11\x00", 4);  // one component: id 1, 1x1 sampling, quant table 0
  // DHT: DC table 0 and AC table 0, each one symbol (0: DC difference 0; 0x00: end of block) with the
  // one-bit code "0". Every 8x8 block is then two zero bits.
  const std::string one_code = std::string("\x01", 1) + std::string(15, '\0') + std::string("\x00", 1);
  tables += std::string("\xFF\xC4\x00\x14\x00", 5) + one_code;
  tables += std::string("\xFF\xC4\x00\x14\x10", 5) + one_code;
  tables += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);  // SOS
  const std::uint64_t blocks = std::uint64_t{(s.width + 7) / 8} * ((s.height + 7) / 8);
  const std::uint64_t bits = blocks * 2;
  std::vector<Piece> tail;
  tail.push_back(literal(std::move(tables)));
  tail.push_back(zeros(bits / 8));
  std::string end;
  if (bits % 8) end += static_cast<char>(0xFF >> (bits % 8));  // pad the last byte with 1 bits
  end += std::string("\xFF\xD9", 2);                           // EOI
  tail.push_back(literal(std::move(end)));
  Framing framing;  // COM segments: FF FE, length (counts itself), data
  framing.max = 65537;
  framing.min = 4;
  framing.header = [](std::uint64_t size) {
    std::string h("\xFF\xFE", 2);
    put_be(h, size - 2, 2);
    return h;
  };
  std::vector<Piece> head_pieces;
  head_pieces.push_back(literal(std::move(head)));
  return assemble("image/jpeg", std::move(head_pieces), std::move(tail), s.bytes, framing);
}

// ---- GIF: GIF89a, two-colour table, comment extensions as padding, LZW of colour 0 -----------------

std::string gif_lzw(std::uint64_t pixels) {
  // The encoder of gif.h (Charlie Tangora, public domain), specialised to one colour: a code's child
  // for colour 0 is all the dictionary needs.
  constexpr int kMinCodeSize = 2;
  constexpr int kClear = 1 << kMinCodeSize;
  std::string data;
  std::uint32_t bit_buffer = 0;
  int bit_count = 0;
  int code_size = kMinCodeSize + 1;
  auto write = [&](int code, int size) {
    bit_buffer |= static_cast<std::uint32_t>(code) << bit_count;
    bit_count += size;
    while (bit_count >= 8) {
      data += static_cast<char>(bit_buffer & 0xFF);
      bit_buffer >>= 8;
      bit_count -= 8;
    }
  };
  std::vector<int> child(4096, 0);
  int max_code = kClear + 1;
  write(kClear, code_size);
  int current = -1;
  for (std::uint64_t i = 0; i < pixels; ++i) {
    if (current < 0) {
      current = 0;
    } else if (child[static_cast<std::size_t>(current)]) {
      current = child[static_cast<std::size_t>(current)];
    } else {
      write(current, code_size);
      child[static_cast<std::size_t>(current)] = ++max_code;
      if (max_code >= (1 << code_size)) ++code_size;
      if (max_code == 4095) {
        write(kClear, code_size);
        std::fill(child.begin(), child.end(), 0);
        code_size = kMinCodeSize + 1;
        max_code = kClear + 1;
      }
      current = 0;
    }
  }
  write(current, code_size);
  write(kClear, code_size);
  write(kClear + 1, kMinCodeSize + 1);
  if (bit_count > 0) data += static_cast<char>(bit_buffer & 0xFF);
  // Sub-blocks of at most 255 bytes, then the terminator.
  std::string out(1, static_cast<char>(kMinCodeSize));
  for (std::size_t at = 0; at < data.size(); at += 255) {
    const auto n = std::min<std::size_t>(255, data.size() - at);
    out += static_cast<char>(n);
    out.append(data, at, n);
  }
  out += '\0';
  return out;
}

MediaFile make_gif(const MediaSpec& s) {
  std::string head = "GIF89a";
  put_le(head, s.width, 2);
  put_le(head, s.height, 2);
  head += std::string("\x80\x00\x00", 3);                    // global colour table of 2 entries
  head += std::string("\x80\x80\x80\xFF\xFF\xFF", 6);        // grey, white
  std::string image("\x2C\x00\x00\x00\x00", 5);              // image descriptor at 0,0
  put_le(image, s.width, 2);
  put_le(image, s.height, 2);
  image += '\0';
  image += gif_lzw(std::uint64_t{s.width} * s.height);
  image += '\x3B';  // trailer
  Framing framing;  // comment extensions: 21 FE, one sub-block, terminator
  framing.max = 255 + 4;
  framing.min = 1 + 4;
  framing.header = [](std::uint64_t size) { return std::string("\x21\xFE", 2) + static_cast<char>(size - 4); };
  framing.trailer = [](std::uint64_t) { return std::string(1, '\0'); };
  std::vector<Piece> head_pieces;
  head_pieces.push_back(literal(std::move(head)));
  std::vector<Piece> tail;
  tail.push_back(literal(std::move(image)));
  return assemble("image/gif", std::move(head_pieces), std::move(tail), s.bytes, framing);
}

// ---- WebP: RIFF, VP8X, a lossless VP8L image whose five prefix codes have one symbol each (so every
// pixel costs zero bits), padding in an unknown chunk at the end (allowed by the extended format) ---

class LsbBits {
 public:
  void put(std::uint32_t value, int bits) {
    for (int i = 0; i < bits; ++i) {
      if (count_ % 8 == 0) bytes_ += '\0';
      if ((value >> i) & 1) bytes_.back() = static_cast<char>(bytes_.back() | (1 << (count_ % 8)));
      ++count_;
    }
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
  std::uint64_t count_ = 0;
};

MediaFile make_webp(const MediaSpec& s) {
  LsbBits vp8l;
  vp8l.put(0x2F, 8);           // signature
  vp8l.put(s.width - 1, 14);
  vp8l.put(s.height - 1, 14);
  vp8l.put(0, 1);              // alpha unused
  vp8l.put(0, 3);              // version 0
  vp8l.put(0, 1);              // no transform
  vp8l.put(0, 1);              // no colour cache
  vp8l.put(0, 1);              // no meta prefix codes
  for (std::uint32_t symbol : {0x80U, 0x80U, 0x80U, 0xFFU}) {  // green, red, blue, alpha
    vp8l.put(1, 1);            // simple code
    vp8l.put(0, 1);            // one symbol
    vp8l.put(1, 1);            // 8-bit symbol
    vp8l.put(symbol, 8);
  }
  vp8l.put(1, 1);  // distance code: simple, one symbol, 1-bit symbol 0
  vp8l.put(0, 1);
  vp8l.put(0, 1);
  vp8l.put(0, 1);
  std::string image = vp8l.bytes();
  if (image.size() % 2) image += '\0';
  std::string vp8x("VP8X", 4);
  put_le(vp8x, 10, 4);
  vp8x += std::string(4, '\0');  // no flags
  put_le(vp8x, s.width - 1, 3);
  put_le(vp8x, s.height - 1, 3);
  std::string chunk("VP8L", 4);
  put_le(chunk, vp8l.bytes().size(), 4);
  chunk += image;
  // RIFF chunks have even sizes, so a WebP file's length is even: an odd request gets one byte less.
  const std::uint64_t natural = 12 + vp8x.size() + chunk.size();
  const std::uint64_t wanted = s.bytes - (s.bytes % 2);
  const std::uint64_t pad_payload = wanted >= natural + 8 ? wanted - natural - 8 : 0;
  const bool has_pad = wanted >= natural + 8;
  const std::uint64_t total = has_pad ? wanted : natural;
  std::string head("RIFF", 4);
  put_le(head, total - 8, 4);
  head += "WEBP";
  head += vp8x;
  head += chunk;
  std::vector<Piece> pieces;
  if (has_pad) {
    head += "PADD";  // an unknown chunk: readers skip it
    put_le(head, pad_payload, 4);
  }
  pieces.push_back(literal(std::move(head)));
  if (has_pad) pieces.push_back(zeros(pad_payload));
  return finish("image/webp", std::move(pieces));
}

// ---- MP4 ------------------------------------------------------------------------------------------

std::string box(const char* type, const std::string& payload) {
  std::string out;
  put_be(out, 8 + payload.size(), 4);
  out.append(type, 4);
  return out + payload;
}
std::string full_box(const char* type, int version, std::uint32_t flags, const std::string& payload) {
  std::string p;
  put_be(p, static_cast<std::uint64_t>(version) << 24 | flags, 4);
  return box(type, p + payload);
}
std::string matrix() {
  std::string m;
  for (std::uint32_t v : {0x00010000U, 0U, 0U, 0U, 0x00010000U, 0U, 0U, 0U, 0x40000000U}) put_be(m, v, 4);
  return m;
}

class MsbBits {
 public:
  void put(std::uint32_t value, int bits) {
    for (int i = bits - 1; i >= 0; --i) bit((value >> i) & 1);
  }
  void ue(std::uint32_t value) {  // Exp-Golomb
    const std::uint32_t v = value + 1;
    int len = 0;
    while ((v >> len) > 1) ++len;
    put(0, len);
    put(v, len + 1);
  }
  void se(std::int32_t value) { ue(value <= 0 ? static_cast<std::uint32_t>(-2 * value) : static_cast<std::uint32_t>(2 * value - 1)); }
  std::string rbsp_trailing() {
    bit(1);
    while (count_ % 8) bit(0);
    return bytes_;
  }

 private:
  void bit(std::uint32_t b) {
    if (count_ % 8 == 0) bytes_ += '\0';
    if (b) bytes_.back() = static_cast<char>(bytes_.back() | (0x80 >> (count_ % 8)));
    ++count_;
  }
  std::string bytes_;
  std::uint64_t count_ = 0;
};

// NAL unit: header byte + RBSP with emulation prevention (00 00 0x -> 00 00 03 0x for x <= 3).
std::string nal(std::uint8_t header, const std::string& rbsp) {
  std::string out(1, static_cast<char>(header));
  int zeros_run = 0;
  for (char c : rbsp) {
    const auto b = static_cast<unsigned char>(c);
    if (zeros_run >= 2 && b <= 3) {
      out += '\x03';
      zeros_run = 0;
    }
    out += c;
    zeros_run = b == 0 ? zeros_run + 1 : 0;
  }
  return out;
}

// H.264 Baseline SPS for the frame size (cropped to it when not a multiple of 16) and its PPS.
std::pair<std::string, std::string> sps_pps(std::uint32_t width, std::uint32_t height, std::uint8_t level) {
  const std::uint32_t mbs_w = (width + 15) / 16;
  const std::uint32_t mbs_h = (height + 15) / 16;
  MsbBits sps;
  sps.put(66, 8);     // profile_idc: Baseline
  sps.put(0xC0, 8);   // constraint_set0 and set1
  sps.put(level, 8);  // level_idc
  sps.ue(0);          // seq_parameter_set_id
  sps.ue(0);          // log2_max_frame_num_minus4
  sps.ue(2);          // pic_order_cnt_type
  sps.ue(1);          // max_num_ref_frames
  sps.put(0, 1);      // gaps_in_frame_num_value_allowed_flag
  sps.ue(mbs_w - 1);  // pic_width_in_mbs_minus1
  sps.ue(mbs_h - 1);  // pic_height_in_map_units_minus1
  sps.put(1, 1);      // frame_mbs_only_flag
  sps.put(1, 1);      // direct_8x8_inference_flag
  const bool crop = mbs_w * 16 != width || mbs_h * 16 != height;
  sps.put(crop ? 1 : 0, 1);
  if (crop) {  // in units of 2 pixels (4:2:0)
    sps.ue(0);
    sps.ue((mbs_w * 16 - width) / 2);
    sps.ue(0);
    sps.ue((mbs_h * 16 - height) / 2);
  }
  sps.put(0, 1);  // vui_parameters_present_flag
  MsbBits pps;
  pps.ue(0);      // pic_parameter_set_id
  pps.ue(0);      // seq_parameter_set_id
  pps.put(0, 1);  // entropy_coding_mode_flag (CAVLC)
  pps.put(0, 1);  // bottom_field_pic_order_in_frame_present_flag
  pps.ue(0);      // num_slice_groups_minus1
  pps.ue(0);      // num_ref_idx_l0_default_active_minus1
  pps.ue(0);      // num_ref_idx_l1_default_active_minus1
  pps.put(0, 1);  // weighted_pred_flag
  pps.put(0, 2);  // weighted_bipred_idc
  pps.se(0);      // pic_init_qp_minus26
  pps.se(0);      // pic_init_qs_minus26
  pps.se(0);      // chroma_qp_index_offset
  pps.put(1, 1);  // deblocking_filter_control_present_flag
  pps.put(0, 1);  // constrained_intra_pred_flag
  pps.put(0, 1);  // redundant_pic_cnt_present_flag
  return {nal(0x67, sps.rbsp_trailing()), nal(0x68, pps.rbsp_trailing())};
}

// The moov box for `frames` samples of the given sizes, the chunk starting at `data_offset`.
std::string mp4_moov(const MediaSpec& s, std::uint64_t frames, std::uint32_t timescale, std::uint32_t delta,
                     std::uint64_t sample_size, std::uint64_t last_size, std::uint64_t data_offset) {
  const std::uint64_t media_duration = frames * delta;
  const auto movie_duration = static_cast<std::uint64_t>(std::llround(static_cast<double>(media_duration) * 1000.0 / timescale));
  std::string mvhd;
  put_be(mvhd, 0, 4);  // creation_time
  put_be(mvhd, 0, 4);  // modification_time
  put_be(mvhd, 1000, 4);
  put_be(mvhd, movie_duration, 4);
  put_be(mvhd, 0x00010000, 4);  // rate 1.0
  put_be(mvhd, 0x0100, 2);      // volume 1.0
  mvhd += std::string(10, '\0');
  mvhd += matrix();
  mvhd += std::string(24, '\0');
  put_be(mvhd, 2, 4);  // next_track_ID

  std::string tkhd;
  put_be(tkhd, 0, 4);
  put_be(tkhd, 0, 4);
  put_be(tkhd, 1, 4);  // track_ID
  put_be(tkhd, 0, 4);
  put_be(tkhd, movie_duration, 4);
  tkhd += std::string(8, '\0');
  put_be(tkhd, 0, 2);  // layer
  put_be(tkhd, 0, 2);  // alternate_group
  put_be(tkhd, 0, 2);  // volume (video: 0)
  put_be(tkhd, 0, 2);
  tkhd += matrix();
  put_be(tkhd, std::uint64_t{s.width} << 16, 4);
  put_be(tkhd, std::uint64_t{s.height} << 16, 4);

  std::string mdhd;
  put_be(mdhd, 0, 4);
  put_be(mdhd, 0, 4);
  put_be(mdhd, timescale, 4);
  put_be(mdhd, media_duration, 4);
  put_be(mdhd, 0x55C4, 2);  // language "und"
  put_be(mdhd, 0, 2);

  std::string hdlr;
  put_be(hdlr, 0, 4);
  hdlr += "vide";
  hdlr += std::string(12, '\0');
  hdlr += std::string("VideoHandler\0", 13);

  std::string vmhd(8, '\0');  // graphicsmode, opcolor
  std::string dref;
  put_be(dref, 1, 4);
  dref += full_box("url ", 0, 1, "");  // media data in this file

  const std::uint32_t mbs = ((s.width + 15) / 16) * ((s.height + 15) / 16);
  const std::uint8_t level = mbs <= 1620 ? 31 : (mbs <= 8192 ? 40 : 51);
  const auto [sps, pps] = sps_pps(s.width, s.height, level);
  std::string avcc;
  avcc += '\x01';                          // configurationVersion
  avcc += sps.substr(1, 3);                // profile, compatibility, level
  avcc += '\xFF';                          // lengthSizeMinusOne = 3
  avcc += '\xE1';                          // one SPS
  put_be(avcc, sps.size(), 2);
  avcc += sps;
  avcc += '\x01';                          // one PPS
  put_be(avcc, pps.size(), 2);
  avcc += pps;
  std::string avc1(6, '\0');
  put_be(avc1, 1, 2);  // data_reference_index
  avc1 += std::string(16, '\0');
  put_be(avc1, s.width, 2);
  put_be(avc1, s.height, 2);
  put_be(avc1, 0x00480000, 4);  // 72 dpi
  put_be(avc1, 0x00480000, 4);
  put_be(avc1, 0, 4);
  put_be(avc1, 1, 2);  // frame_count
  std::string compressor = "\x0Fschedulo-sandbox";
  compressor.resize(32, '\0');
  avc1 += compressor;
  put_be(avc1, 0x0018, 2);  // depth
  put_be(avc1, 0xFFFF, 2);  // pre_defined -1
  avc1 += box("avcC", avcc);
  std::string stsd;
  put_be(stsd, 1, 4);
  stsd += box("avc1", avc1);

  std::string stts;
  put_be(stts, 1, 4);
  put_be(stts, frames, 4);
  put_be(stts, delta, 4);
  std::string stsc;
  put_be(stsc, 1, 4);
  put_be(stsc, 1, 4);       // first_chunk
  put_be(stsc, frames, 4);  // samples_per_chunk: one chunk holds them all
  put_be(stsc, 1, 4);
  std::string stsz;
  put_be(stsz, 0, 4);  // sizes listed per sample
  put_be(stsz, frames, 4);
  for (std::uint64_t i = 0; i < frames; ++i) put_be(stsz, i + 1 == frames ? last_size : sample_size, 4);
  std::string stco;
  put_be(stco, 1, 4);
  put_be(stco, data_offset, 4);

  const std::string stbl = box("stbl", full_box("stsd", 0, 0, stsd) + full_box("stts", 0, 0, stts) +
                                           full_box("stsc", 0, 0, stsc) + full_box("stsz", 0, 0, stsz) +
                                           full_box("stco", 0, 0, stco));
  const std::string minf = box("minf", full_box("vmhd", 0, 1, vmhd) + box("dinf", full_box("dref", 0, 0, dref)) + stbl);
  const std::string mdia = box("mdia", full_box("mdhd", 0, 0, mdhd) + full_box("hdlr", 0, 0, hdlr) + minf);
  const std::string trak = box("trak", full_box("tkhd", 0, 3, tkhd) + mdia);
  return box("moov", full_box("mvhd", 0, 0, mvhd) + trak);
}

MediaFile make_mp4(const MediaSpec& s) {
  const auto frames = static_cast<std::uint64_t>(std::max(1.0, std::round(s.duration_s * s.fps)));
  const std::uint32_t delta = 1000;
  const auto timescale = static_cast<std::uint32_t>(std::llround(s.fps * delta));
  std::string ftyp;
  ftyp += "isom";
  put_be(ftyp, 512, 4);
  ftyp += "isomiso2avc1mp41";
  ftyp = box("ftyp", ftyp);
  // The moov's size does not depend on the sample sizes' values, so measure it once with zeros.
  const std::uint64_t moov_size = mp4_moov(s, frames, timescale, delta, 0, 0, 0).size();
  constexpr std::uint64_t kMinSample = 8;  // length prefix, NAL header, a few bytes
  std::uint64_t header = 8;
  std::uint64_t payload = frames * kMinSample;
  if (s.bytes > ftyp.size() + moov_size + header + payload) payload = s.bytes - ftyp.size() - moov_size - header;
  if (payload + 8 > 0xFFFFFFFFULL) {  // a 64-bit mdat: size 1, then the large size
    header = 16;
    payload -= 8;
  }
  const std::uint64_t sample = payload / frames;
  const std::uint64_t last = payload - sample * (frames - 1);
  if (last > 0xFFFFFFFFULL || sample > 0xFFFFFFFFULL) {
    // stsz holds 32-bit sizes; a sample that large means too few frames for the size asked.
    MediaFile none;
    return none;
  }
  const std::uint64_t data_offset = ftyp.size() + moov_size + header;
  std::string head = ftyp + mp4_moov(s, frames, timescale, delta, sample, last, data_offset);
  if (header == 8) {
    put_be(head, payload + 8, 4);
    head += "mdat";
  } else {
    put_be(head, 1, 4);
    head += "mdat";
    put_be(head, payload + 16, 8);
  }
  // Each sample: a 4-byte NAL length, an IDR slice NAL header, zeros. All but the last have one size.
  std::string prefix;
  put_be(prefix, sample - 4, 4);
  prefix += '\x65';
  std::vector<Piece> pieces;
  pieces.push_back(literal(std::move(head)));
  if (frames > 1) {
    pieces.push_back({sample * (frames - 1), [sample, prefix](std::uint64_t offset, char* out, std::size_t n) {
                        while (n > 0) {
                          const std::uint64_t in = offset % sample;
                          std::size_t take = 0;
                          if (in < prefix.size()) {
                            take = static_cast<std::size_t>(std::min<std::uint64_t>(n, prefix.size() - in));
                            std::memcpy(out, prefix.data() + in, take);
                          } else {
                            take = static_cast<std::size_t>(std::min<std::uint64_t>(n, sample - in));
                            std::memset(out, 0, take);
                          }
                          out += take;
                          offset += take;
                          n -= take;
                        }
                      }});
  }
  std::string last_prefix;
  put_be(last_prefix, last - 4, 4);
  last_prefix += '\x65';
  pieces.push_back(literal(std::move(last_prefix)));
  pieces.push_back(zeros(last - 5));
  return finish("video/mp4", std::move(pieces));
}

}  // namespace

std::optional<MediaFile> make_media(const MediaSpec& spec, std::string& error) {
  const bool video = spec.kind == "mp4";
  const std::uint32_t max_side = video ? kMaxVideoSide : kMaxImageSide;
  if (spec.width < 1 || spec.height < 1 || spec.width > max_side || spec.height > max_side) {
    error = "width and height must be 1 to " + std::to_string(max_side);
    return std::nullopt;
  }
  if (spec.bytes > kMaxBytes) {
    error = "bytes must be at most " + std::to_string(kMaxBytes);
    return std::nullopt;
  }
  if (spec.kind == "png") return make_png(spec);
  if (spec.kind == "jpeg") return make_jpeg(spec);
  if (spec.kind == "gif") return make_gif(spec);
  if (spec.kind == "webp") return make_webp(spec);
  if (video) {
    if (!(spec.fps > 0 && spec.fps <= 240) || !(spec.duration_s > 0 && spec.duration_s <= 4 * 3600)) {
      error = "fps must be in (0, 240] and duration in (0, 14400] seconds";
      return std::nullopt;
    }
    if (spec.width % 2 || spec.height % 2) {
      error = "an H.264 4:2:0 video needs an even width and height";
      return std::nullopt;
    }
    auto file = make_mp4(spec);
    if (!file.body) {
      error = "too few frames for that many bytes (a sample would exceed 4 GiB)";
      return std::nullopt;
    }
    return file;
  }
  error = "kind must be jpeg, png, gif, webp or mp4";
  return std::nullopt;
}

}  // namespace schedulo::sandbox::cdn
