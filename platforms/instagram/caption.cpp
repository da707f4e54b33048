#include "platforms/instagram/caption.hpp"

namespace schedulo::instagram {
namespace {

// A character that can continue a hashtag or a username (letters, digits, '_' and '.' for usernames;
// any non-ASCII byte counts as a letter, as Instagram allows hashtags in every script).
bool word_byte(unsigned char c, bool mention) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         (mention && c == '.') || (!mention && c >= 0x80);
}

}  // namespace

CaptionCount count_caption(std::string_view caption) {
  CaptionCount out;
  for (std::size_t i = 0; i < caption.size(); ++i) {
    const auto c = static_cast<unsigned char>(caption[i]);
    if ((c & 0xC0) != 0x80) ++out.characters;  // count lead bytes only
    if (c != '#' && c != '@') continue;
    // A tag starts a word: at the beginning or after a byte that is not part of a word.
    const bool starts = i == 0 || !word_byte(static_cast<unsigned char>(caption[i - 1]), true);
    const bool mention = c == '@';
    if (starts && i + 1 < caption.size() && word_byte(static_cast<unsigned char>(caption[i + 1]), mention))
      ++(mention ? out.mentions : out.hashtags);
  }
  return out;
}

std::optional<std::string> caption_problem(std::string_view caption) {
  const auto n = count_caption(caption);
  if (n.characters > kMaxCaptionChars)
    return "The caption has " + std::to_string(n.characters) + " characters; Instagram allows at most " +
           std::to_string(kMaxCaptionChars) + ".";
  if (n.hashtags > kMaxHashtags)
    return "The caption has " + std::to_string(n.hashtags) + " hashtags; Instagram allows at most " +
           std::to_string(kMaxHashtags) + ".";
  if (n.mentions > kMaxMentions)
    return "The caption mentions " + std::to_string(n.mentions) + " accounts; Instagram allows at most " +
           std::to_string(kMaxMentions) + " @mentions.";
  return std::nullopt;
}

}  // namespace schedulo::instagram
