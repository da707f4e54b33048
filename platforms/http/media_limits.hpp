#pragma once
// Each platform's media limits as data, one row per way of publishing (media_limits.cpp holds the
// table, each row citing its section of shared/docs/platform-apis.md). A staged file is checked
// against its row before any upload; a broken rule fails the job permanently with a message that
// names the rule and the value found.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "platforms/http/errors.hpp"
#include "platforms/http/media_info.hpp"

namespace schedulo::http {

enum class MediaTarget {
  instagram_image,        // feed image or carousel image
  instagram_reel,         // reel (single feed videos are reels since 2023)
  instagram_story_image,
  instagram_story_video,
  facebook_photo,
  facebook_video,
  facebook_reel,
  tiktok_video,
  tiktok_photo,
  x_image,
  x_gif,
  x_video,
};

// Zero (or empty) means "no limit documented".
struct MediaLimits {
  MediaTarget target = MediaTarget::instagram_image;
  std::string_view name{};   // "Instagram reels": the message says "... exceeds Instagram reels' 900 s limit"
  std::string_view section{};  // of platform-apis.md
  std::span<const MediaType> types{};
  std::uint64_t max_bytes = 0;
  std::uint32_t min_width = 0, min_height = 0;
  std::uint32_t min_side = 0, max_side = 0;  // each side
  std::uint32_t max_short_side = 0;          // "1080p": the shorter side
  double min_aspect = 0, max_aspect = 0;     // width / height
  double min_duration_s = 0, max_duration_s = 0;
  double min_fps = 0, max_fps = 0;
  std::span<const std::string_view> codecs{}; // sample entry fourccs accepted; empty: any
  std::string_view codec_names{};           // for the message: "H.264, H.265, VP8, VP9"
};

const MediaLimits& limits_for(MediaTarget target);

// The target for a job's media: its platform, the media kind the job declares ("image"/"video"),
// the platform option that says how it is published ("reel", "story", ...), and the detected type
// (X treats GIFs apart). Nullopt for an unknown platform.
std::optional<MediaTarget> media_target(std::string_view platform, std::string_view kind, std::string_view as,
                                        MediaType detected);

// Nullopt when the file may be published there; otherwise a media_rejected Error naming the first
// broken rule and the value found ("video duration 95.2 s exceeds Facebook reels' 90 s limit").
std::optional<Error> check_media(MediaTarget target, const MediaInfo& info);

}  // namespace schedulo::http
