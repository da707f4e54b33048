#pragma once
// Text helpers for user-facing messages that quote untrusted input.
#include <cstddef>
#include <string>
#include <string_view>

namespace schedulo {

// Length of the well-formed UTF-8 sequence at s[i] (no overlongs, surrogates or code points above
// U+10FFFF), or 0 when there is none.
std::size_t utf8_sequence(std::string_view s, std::size_t i);
bool valid_utf8(std::string_view s);

// User input in a message: at most `max_chars` characters, cut on a character boundary, control
// characters and broken UTF-8 replaced by '?', "…" when cut, so the message stays valid UTF-8, one
// line, and carries no long payload.
std::string excerpt(std::string_view s, std::size_t max_chars = 64);

}  // namespace schedulo
