#include "sandbox/tiktok/rules.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace schedulo::sandbox::tiktok {

namespace {

constexpr std::array<std::string_view, 13> kFailReasons{"file_format_check_failed",
                                                        "duration_check_failed",
                                                        "frame_rate_check_failed",
                                                        "picture_size_check_failed",
                                                        "internal",
                                                        "video_pull_failed",
                                                        "photo_pull_failed",
                                                        "publish_cancelled",
                                                        "auth_removed",
                                                        "spam_risk_too_many_posts",
                                                        "spam_risk_user_banned_from_posting",
                                                        "spam_risk_text",
                                                        "spam_risk"};
constexpr std::array<std::string_view, 3> kPostingErrors{
    "spam_risk_too_many_posts", "spam_risk_user_banned_from_posting", "reached_active_user_cap"};
constexpr std::array<std::string_view, 16> kVideoFields{
    "id",         "create_time", "cover_image_url", "share_url",  "video_description", "duration",      "height",
    "width",      "title",       "embed_html",      "embed_link", "like_count",        "comment_count", "share_count",
    "view_count", "is_aigc"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

bool is_fail_reason(std::string_view reason) {
  return one_of(kFailReasons, reason);
}
bool is_posting_error(std::string_view code) {
  return one_of(kPostingErrors, code);
}
bool is_video_field(std::string_view field) {
  return one_of(kVideoFields, field);
}

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}

std::string hex(std::uint64_t v, int digits, bool upper) {
  static constexpr char kLower[] = "0123456789abcdef";
  static constexpr char kUpper[] = "0123456789ABCDEF";
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = (upper ? kUpper : kLower)[v & 15];
  return out;
}

std::size_t utf16_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
    if (c >= 0xF0) ++n;  // a supplementary-plane character is a surrogate pair
  }
  return n;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::string join_commas(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

bool pkce_matches(const std::string& verifier, const std::string& challenge) {
  if (verifier.empty()) return false;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(verifier.data(), verifier.size(), md, &len, EVP_sha256(), nullptr);
  std::string hexed;
  for (unsigned int i = 0; i < len; ++i) hexed += hex(md[i], 2, false);
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string b64url;
  for (unsigned int i = 0; i < len; i += 3) {
    const unsigned int b0 = md[i];
    const unsigned int b1 = i + 1 < len ? md[i + 1] : 0;
    const unsigned int b2 = i + 2 < len ? md[i + 2] : 0;
    const unsigned int triple = (b0 << 16) | (b1 << 8) | b2;
    b64url += kB64[(triple >> 18) & 63];
    b64url += kB64[(triple >> 12) & 63];
    if (i + 1 < len) b64url += kB64[(triple >> 6) & 63];
    if (i + 2 < len) b64url += kB64[triple & 63];
  }
  return challenge == hexed || challenge == b64url;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<std::string> chunk_problem(std::int64_t size, std::int64_t chunk, std::int64_t count) {
  if (size <= 0 || size > kMaxVideo) return "video_size must be between 1 byte and 4 GB.";
  if (chunk <= 0 || count <= 0) return "chunk_size and total_chunk_count must be positive.";
  if (size < kMinChunk) {
    if (chunk != size || count != 1) return "a video under 5 MB must be one chunk with chunk_size = video_size.";
    return std::nullopt;
  }
  if (chunk < kMinChunk || chunk > kMaxChunk) return "chunk_size must be between 5 MB and 64 MB.";
  if (count != size / chunk) return "total_chunk_count must be floor(video_size / chunk_size).";
  if (count > kMaxChunks) return "at most 1000 chunks.";
  if (size > kMaxChunk && count < 2) return "a video over 64 MB must be uploaded in chunks.";
  if (size - (count - 1) * chunk > kMaxLastChunk) return "the last chunk may not exceed 128 MB.";
  return std::nullopt;
}

bool parse_content_range(const std::string& header, std::int64_t& first, std::int64_t& last, std::int64_t& total) {
  if (header.compare(0, 6, "bytes ") != 0) return false;
  const auto dash = header.find('-', 6);
  const auto slash = header.find('/', 6);
  if (dash == std::string::npos || slash == std::string::npos || dash > slash) return false;
  auto number = [](const std::string& s, std::int64_t& out) {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    out = std::stoll(s);
    return true;
  };
  return number(header.substr(6, dash - 6), first) && number(header.substr(dash + 1, slash - dash - 1), last) &&
         number(header.substr(slash + 1), total);
}

}  // namespace schedulo::sandbox::tiktok
