#pragma once
// What the X emulator needs to read requests as X reads them: form and multipart bodies, Basic
// credentials, base64 (plain and URL-safe), the PKCE S256 transform and X's weighted text length.
// Written for the sandbox alone: the daemon's client must not share it (architecture.md).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schedulo::sandbox::x {

struct FormPart {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string data;
};

// multipart/form-data parts, or nullopt when the body or the boundary is malformed.
std::optional<std::vector<FormPart>> parse_multipart(std::string_view content_type, std::string_view body);

// application/x-www-form-urlencoded pairs into a map (the first value of a repeated name wins).
std::map<std::string, std::string> parse_form(std::string_view body);

// Standard base64 (padding optional, whitespace ignored); nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);
// base64url without padding (RFC 7636's BASE64URL-ENCODE).
std::string base64url_encode(std::string_view bytes);

// BASE64URL-ENCODE(SHA256(verifier)): the S256 code_challenge of a code_verifier.
std::string pkce_s256(std::string_view verifier);
// A code_verifier as RFC 7636 allows: 43-128 characters of [A-Za-z0-9-._~].
bool valid_code_verifier(std::string_view verifier);

// Hex SHA-256 of bytes (what the sandbox shows of an uploaded segment).
std::string sha256_hex(std::string_view bytes);

// "Authorization: Basic base64(url-enc(id):url-enc(secret))" decoded; nullopt when absent or malformed.
struct BasicCredentials {
  std::string id;
  std::string secret;
};
std::optional<BasicCredentials> parse_basic(std::optional<std::string_view> header);

// X's weighted length (platform-apis.md 3.2): code points in U+0000-10FF, U+2000-200A, U+2028-202F,
// U+2060 and U+20A0-20BF weigh 1, others 2, and every URL weighs 23. nullopt for invalid UTF-8.
std::optional<std::size_t> weighted_length(std::string_view text);

// Percent-encodes everything but RFC 3986's unreserved characters (for query values).
std::string percent_encode(std::string_view text);

// Splits "a,b,,c" on commas, dropping empty items.
std::vector<std::string> split_list(std::string_view text);

}  // namespace schedulo::sandbox::x
