#pragma once
// The TikTok emulator's rules as plain functions: the chunk arithmetic of the media transfer guide,
// Content-Range parsing, PKCE, title lengths, the known fail_reasons and posting refusals
// (platform-apis.md section 2). No I/O, no state.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schedulo::sandbox::tiktok {

inline constexpr std::int64_t kMiB = 1024 * 1024;
inline constexpr std::int64_t kMinChunk = 5 * kMiB;
inline constexpr std::int64_t kMaxChunk = 64 * kMiB;
inline constexpr std::int64_t kMaxLastChunk = 128 * kMiB;
inline constexpr std::int64_t kMaxVideo = 4096 * kMiB;
inline constexpr std::int64_t kMaxChunks = 1000;
inline constexpr std::size_t kMaxVideoIds = 20;
inline constexpr std::size_t kMaxPhotos = 35;
inline constexpr std::int64_t kFirstPostId = 7311000000000000000;  // above 2^53: a double would lose digits

// status fail_reason values (section 2.7).
bool is_fail_reason(std::string_view reason);
// What creator_info answers with HTTP 200 and the inits with 403 (sections 2.2, 2.3).
bool is_posting_error(std::string_view code);
// The video object's fields (section 2.8).
bool is_video_field(std::string_view field);

// The media transfer guide's rules for an init (sizes in MiB: 5 MB = 5,242,880 bytes); nullopt when
// the three numbers fit, else what is wrong.
std::optional<std::string> chunk_problem(std::int64_t size, std::int64_t chunk, std::int64_t count);
// "bytes FIRST-LAST/TOTAL"; false when malformed.
bool parse_content_range(const std::string& header, std::int64_t& first, std::int64_t& last, std::int64_t& total);
// PKCE: the verifier's SHA-256 as hex (TikTok desktop) or base64url (RFC 7636 S256) equals the challenge.
bool pkce_matches(const std::string& verifier, const std::string& challenge);
// Title lengths are counted in UTF-16 code units ("runes" in TikTok's docs).
std::size_t utf16_length(const std::string& s);
// splitmix64's finaliser: distinct counters give distinct, random-looking values.
std::uint64_t mix(std::uint64_t x);
std::string hex(std::uint64_t v, int digits, bool upper);
std::vector<std::string> split_commas(const std::string& text);
std::string join_commas(const std::vector<std::string>& items);
std::string lower(std::string s);

}  // namespace schedulo::sandbox::tiktok
