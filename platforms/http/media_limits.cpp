#include "platforms/http/media_limits.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

namespace schedulo::http {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kMB = 1000 * 1000;
constexpr std::uint64_t kGB = 1000 * kMB;

constexpr std::array kJpeg{MediaType::jpeg};
constexpr std::array kJpegPng{MediaType::jpeg, MediaType::png};
constexpr std::array kJpegWebp{MediaType::jpeg, MediaType::webp};
constexpr std::array kXImage{MediaType::jpeg, MediaType::png, MediaType::webp};
constexpr std::array kGif{MediaType::gif};
constexpr std::array kMp4{MediaType::mp4};
constexpr std::array kMp4Mov{MediaType::mp4, MediaType::mov};
constexpr std::array kTikTokVideo{MediaType::mp4, MediaType::mov, MediaType::webm};
constexpr std::array<std::string_view, 6> kTikTokCodecs{"avc1", "avc3", "hvc1", "hev1", "vp08", "vp09"};

// The table. Values are the sheet's; where the sheet marks a value UNCONFIRMED it is still used
// (a file the platform would refuse later fails now, with a clearer message), except where the
// platform resizes instead of refusing (noted per row).
const MediaLimits kLimits[] = {
    // 1.1: "image JPEG, ≤8 MiB, aspect 4:5 to 1.91:1, width 320-1440". The width range is not a
    // rule: Meta scales images into it rather than refusing them.
    {.target = MediaTarget::instagram_image, .name = "Instagram feed images", .section = "1.1", .types = kJpeg,
     .max_bytes = 8 * kMiB, .min_aspect = 0.8, .max_aspect = 1.91},
    // 1.1: "reels 9:16, API accepts up to 15 min, reels-tab eligibility 5-90 s" (9:16 is a
    // recommendation; a longer reel is published, only not shown in the reels tab).
    {.target = MediaTarget::instagram_reel, .name = "Instagram reels", .section = "1.1", .types = kMp4Mov,
     .max_duration_s = 15 * 60},
    // 1.1: stories take image_url or video_url; the image rules are those of feed images.
    {.target = MediaTarget::instagram_story_image, .name = "Instagram story images", .section = "1.1",
     .types = kJpeg, .max_bytes = 8 * kMiB},
    {.target = MediaTarget::instagram_story_video, .name = "Instagram story videos", .section = "1.1",
     .types = kMp4Mov},
    // 4.2: resumable uploads allow "pdf, jpeg, jpg, png, mp4".
    {.target = MediaTarget::facebook_photo, .name = "Facebook photos", .section = "4.2", .types = kJpegPng},
    {.target = MediaTarget::facebook_video, .name = "Facebook videos", .section = "4.2", .types = kMp4Mov},
    // 4.2: "Reel spec: .mp4, 9:16, 1080x1920 recommended (min 540x960), 24-60 fps, 3-90 s".
    {.target = MediaTarget::facebook_reel, .name = "Facebook reels", .section = "4.2", .types = kMp4,
     .min_width = 540, .min_height = 960, .min_duration_s = 3, .max_duration_s = 90, .min_fps = 24, .max_fps = 60},
    // 2.5: "MP4/WebM/MOV; H.264/H.265/VP8/VP9; 23-60 fps; 360-4096 px each side; ≤4 GB; up to 10 min".
    {.target = MediaTarget::tiktok_video, .name = "TikTok videos", .section = "2.5", .types = kTikTokVideo,
     .max_bytes = 4 * kGB, .min_side = 360, .max_side = 4096, .max_duration_s = 10 * 60, .min_fps = 23,
     .max_fps = 60, .codecs = kTikTokCodecs, .codec_names = "H.264, H.265, VP8, VP9"},
    // 2.6: "WebP or JPEG (no PNG), ≤1080p, ≤20 MB each".
    {.target = MediaTarget::tiktok_photo, .name = "TikTok photos", .section = "2.6", .types = kJpegWebp,
     .max_bytes = 20 * kMB, .max_short_side = 1080},
    // 3.4: "image ≤5 MB, GIF ≤15 MB, video ≤512 MB" (X's MB are MiB).
    {.target = MediaTarget::x_image, .name = "X images", .section = "3.4", .types = kXImage, .max_bytes = 5 * kMiB},
    {.target = MediaTarget::x_gif, .name = "X GIFs", .section = "3.4", .types = kGif, .max_bytes = 15 * kMiB},
    {.target = MediaTarget::x_video, .name = "X videos", .section = "3.4", .types = kMp4Mov, .max_bytes = 512 * kMiB},
};

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// "8 MiB", "20 MB", "4 GB", or bytes when not round.
std::string size_text(std::uint64_t bytes) {
  if (bytes >= kGB && bytes % kGB == 0) return std::to_string(bytes / kGB) + " GB";
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  if (bytes >= kMB && bytes % kMB == 0) return std::to_string(bytes / kMB) + " MB";
  if (bytes >= kMiB) return fixed(static_cast<double>(bytes) / static_cast<double>(kMiB), 1) + " MiB";
  return std::to_string(bytes) + " bytes";
}

// "5" for whole numbers, "23.98" otherwise.
std::string number(double value) {
  return value == static_cast<double>(static_cast<long long>(value)) ? std::to_string(static_cast<long long>(value))
                                                                     : fixed(value, 2);
}

std::string owner(const MediaLimits& l) { return std::string(l.name) + "'"; }

Error rejected(const MediaLimits& l, std::string message) {
  return {ErrorKind::media_rejected, std::move(message) + " (platform-apis.md " + std::string(l.section) + ")"};
}

std::optional<Error> above(const MediaLimits& l, std::string_view what, const std::string& found, double value,
                           double limit, std::string_view unit) {
  if (limit <= 0 || value <= limit) return std::nullopt;
  return rejected(l, std::string(what) + " " + found + " exceeds " + owner(l) + " " + number(limit) +
                         std::string(unit) + " limit");
}

std::optional<Error> below(const MediaLimits& l, std::string_view what, const std::string& found, double value,
                           double limit, std::string_view unit) {
  if (limit <= 0 || value >= limit) return std::nullopt;
  return rejected(l, std::string(what) + " " + found + " is below " + owner(l) + " " + number(limit) +
                         std::string(unit) + " minimum");
}

}  // namespace

const MediaLimits& limits_for(MediaTarget target) {
  return *std::find_if(std::begin(kLimits), std::end(kLimits), [&](const MediaLimits& l) { return l.target == target; });
}

std::optional<MediaTarget> media_target(std::string_view platform, std::string_view kind, std::string_view as,
                                        MediaType detected) {
  const bool video = kind == "video";
  if (platform == "instagram") {
    if (as == "story") return video ? MediaTarget::instagram_story_video : MediaTarget::instagram_story_image;
    return video ? MediaTarget::instagram_reel : MediaTarget::instagram_image;
  }
  if (platform == "facebook") {
    if (video) return as == "reel" ? MediaTarget::facebook_reel : MediaTarget::facebook_video;
    return MediaTarget::facebook_photo;
  }
  if (platform == "tiktok") return video ? MediaTarget::tiktok_video : MediaTarget::tiktok_photo;
  if (platform == "x") {
    if (video) return MediaTarget::x_video;
    return detected == MediaType::gif ? MediaTarget::x_gif : MediaTarget::x_image;
  }
  return std::nullopt;
}

std::optional<Error> check_media(MediaTarget target, const MediaInfo& info) {
  const MediaLimits& l = limits_for(target);
  if (std::find(l.types.begin(), l.types.end(), info.type) == l.types.end()) {
    std::string accepted;
    for (const MediaType t : l.types) accepted += (accepted.empty() ? "" : ", ") + std::string(to_string(t));
    return rejected(l, "file type " + std::string(to_string(info.type)) + " is not accepted by " + std::string(l.name) +
                           " (" + accepted + ")");
  }
  const auto bytes = static_cast<double>(info.bytes);
  if (auto e = above(l, "file size", size_text(info.bytes), bytes, static_cast<double>(l.max_bytes), "")) {
    e->message = "file size " + size_text(info.bytes) + " exceeds " + owner(l) + " " + size_text(l.max_bytes) +
                 " limit (platform-apis.md " + std::string(l.section) + ")";
    return e;
  }
  const auto w = static_cast<double>(info.width);
  const auto h = static_cast<double>(info.height);
  const std::string dims = std::to_string(info.width) + "x" + std::to_string(info.height);
  if (info.width > 0 && info.height > 0) {
    if (auto e = below(l, "width", std::to_string(info.width) + " px", w, l.min_width, " px")) return e;
    if (auto e = below(l, "height", std::to_string(info.height) + " px", h, l.min_height, " px")) return e;
    const double shorter = std::min(w, h);
    const double longer = std::max(w, h);
    if (auto e = below(l, "shorter side", number(shorter) + " px (" + dims + ")", shorter, l.min_side, " px")) return e;
    if (auto e = above(l, "longer side", number(longer) + " px (" + dims + ")", longer, l.max_side, " px")) return e;
    if (auto e = above(l, "shorter side", number(shorter) + " px (" + dims + ")", shorter, l.max_short_side, " px"))
      return e;
    const double aspect = w / h;
    if ((l.min_aspect > 0 && aspect < l.min_aspect) || (l.max_aspect > 0 && aspect > l.max_aspect))
      return rejected(l, "aspect ratio " + fixed(aspect, 2) + " (" + dims + ") is outside " + owner(l) + " " +
                             fixed(l.min_aspect, 2) + "-" + fixed(l.max_aspect, 2) + " range");
  }
  if (info.duration_s) {
    const double d = *info.duration_s;
    if (auto e = above(l, "video duration", fixed(d, 1) + " s", d, l.max_duration_s, " s")) return e;
    if (auto e = below(l, "video duration", fixed(d, 1) + " s", d, l.min_duration_s, " s")) return e;
  }
  if (info.frame_rate) {
    const double f = *info.frame_rate;
    if (auto e = above(l, "frame rate", fixed(f, 2) + " fps", f, l.max_fps, " fps")) return e;
    if (auto e = below(l, "frame rate", fixed(f, 2) + " fps", f, l.min_fps, " fps")) return e;
  }
  if (!l.codecs.empty() && !info.codec.empty() &&
      std::find(l.codecs.begin(), l.codecs.end(), info.codec) == l.codecs.end())
    return rejected(l, "video codec " + info.codec + " is not accepted by " + std::string(l.name) + " (" +
                           std::string(l.codec_names) + ")");
  return std::nullopt;
}

}  // namespace schedulo::http
