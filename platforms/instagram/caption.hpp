#pragma once
// Instagram's caption rules (platform-apis.md 1.1, media limits): at most 2200 characters, 30 hashtags
// and 20 @mentions. Checked before any call, so a caption Instagram would refuse (100 / 2207010) fails
// the job at once with a message saying which rule.
#include <optional>
#include <string>
#include <string_view>

namespace schedulo::instagram {

struct CaptionCount {
  std::size_t characters = 0;  // Unicode code points
  std::size_t hashtags = 0;
  std::size_t mentions = 0;
};
CaptionCount count_caption(std::string_view caption);

// nullopt when Instagram accepts the caption; otherwise the broken rule, for people.
std::optional<std::string> caption_problem(std::string_view caption);

inline constexpr std::size_t kMaxCaptionChars = 2200;
inline constexpr std::size_t kMaxHashtags = 30;
inline constexpr std::size_t kMaxMentions = 20;

}  // namespace schedulo::instagram
