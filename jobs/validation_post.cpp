#include "jobs/validation_checker.hpp"

#include <algorithm>

namespace schedulo::jobs::validation {
namespace {

// Structural per-platform limits, checked at intake so a job that can never be published fails
// before it waits for its time. The exact counting rules (X's weighted characters, TikTok's UTF-16
// units) belong to the platform's publish step; here text length counts Unicode code points.
// Sources: shared/docs/platform-apis.md.
struct PlatformRules {
  std::size_t text_max;  // post.text and each X thread post
  std::size_t media_max;
  bool video_alone;     // a video must be the only media item
  bool media_required;  // the platform cannot post text alone
};
constexpr PlatformRules kRules[] = {
    // instagram, §1.1: caption ≤ 2200; carousel 2-10 children, images and videos mixed.
    {2200, 10, false, true},
    // facebook, §4.2: several photos go in attached_media (10 here); a video is a post of its own
    // (/videos, /video_reels). The message cap is not in the sheet: Facebook's 63,206 characters.
    {63206, 10, true, false},
    // tiktok, §2.3: title ≤ 2200 UTF-16 units; §2.6: photo posts up to 35 images (the 4000-character
    // photo description is a separate field); a video post has one video.
    {2200, 35, true, true},
    // x, §3.2: 280 weighted characters for non-Premium accounts, long posts up to 25,000 for Premium
    // (weighted counting happens at publish); 1-4 images, or one video/GIF alone.
    {25000, 4, true, false},
};

const PlatformRules& rules_for(Platform p) {
  return kRules[static_cast<std::size_t>(p)];
}

constexpr std::array<std::string_view, 2> kMediaKindNames = {"image", "video"};
constexpr std::array<std::string_view, 4> kTikTokPrivacyLevels = {"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS",
                                                                  "FOLLOWER_OF_CREATOR", "SELF_ONLY"};

}  // namespace

void Checker::post(const json& doc, std::optional<JobType> type, std::optional<Platform> platform, Job& job) {
  const json* v = member(doc, "post");
  if (type && *type != JobType::publish) {
    if (v) add("post", "not_allowed", "post is only allowed in publish jobs");
    return;
  }
  if (!v) {
    if (type) add("post", "required", "post is required for publish jobs");
    return;
  }
  if (!v->is_object()) {
    add("post", "wrong_type", "post must be an object, not " + type_name(*v));
    return;
  }
  Post post;
  const std::size_t before = error_count();

  const json* text = member(*v, "text");
  if (text) {
    const std::string* s = string_value(*text, "post.text", "a string");
    const std::size_t cap = platform ? rules_for(*platform).text_max : SIZE_MAX;
    const std::string owner = platform ? std::string(to_string(*platform)) : std::string();
    if (s && text_ok(*s, "post.text", cap, true, owner)) post.text = *s;
  }

  bool media_ok = true;
  if (const json* media = member(*v, "media")) {
    media_ok = media_list(*media, platform, post.media);
  }

  if (const json* options = member(*v, "options")) options_block(*options, platform, post.options);

  refuse_unknown(*v, "post", {"text", "media", "options"}, "post");

  // Cross-field rules need the media list intact; they look at what was sent (not at what passed),
  // so a caption that is too long is not also reported as missing.
  if (platform && media_ok) {
    // A text of the wrong type was reported already; it still counts as "sent".
    const bool has_text = text && !(text->is_string() && text->get_ref<const std::string&>().empty());
    const json* options = member(*v, "options");
    const json* facebook = options && options->is_object() ? member(*options, "facebook") : nullptr;
    const bool has_link = facebook && facebook->is_object() && member(*facebook, "link");
    content_rules(*platform, post, has_text, has_link);
  }
  if (error_count() == before) job.post = std::move(post);
}

bool Checker::media_list(const json& media, std::optional<Platform> platform, std::vector<Media>& out) {
  if (!media.is_array()) {
    add("post.media", "wrong_type", "post.media must be an array of {url, kind} objects, not " + type_name(media));
    return false;
  }
  bool ok = true;
  if (platform && media.size() > rules_for(*platform).media_max) {
    add("post.media", "too_many",
        "post.media has " + std::to_string(media.size()) + " items; " + std::string(to_string(*platform)) +
            " allows at most " + std::to_string(rules_for(*platform).media_max));
    ok = false;
  }
  for (std::size_t i = 0; i < media.size(); ++i) {
    if (auto item = media_item(media[i], "post.media[" + std::to_string(i) + "]"))
      out.push_back(std::move(*item));
    else
      ok = false;
  }
  return ok;
}

std::optional<Media> Checker::media_item(const json& v, const std::string& path) {
  if (!v.is_object()) {
    add(path, "wrong_type", path + " must be an object with url and kind, not " + type_name(v));
    return std::nullopt;
  }
  const std::size_t before = error_count();
  Media media;
  if (const json* url = member(v, "url")) {
    if (auto normalised = url_value(*url, path + ".url", false)) media.url = std::move(*normalised);
  } else {
    add(path + ".url", "required", path + ".url is required");
  }
  if (const json* kind = member(v, "kind")) {
    if (auto k = enum_value(*kind, path + ".kind", kMediaKindNames)) media.kind = static_cast<MediaKind>(*k);
  } else {
    add(path + ".kind", "required", path + ".kind is required: one of image, video");
  }
  if (const json* alt = member(v, "alt_text")) {
    const std::string field = path + ".alt_text";
    const std::string* s = string_value(*alt, field, "a string");
    if (s && text_ok(*s, field, kMaxAltTextLength, true)) media.alt_text = *s;
  }
  refuse_unknown(v, path, {"url", "kind", "alt_text"}, "a media item");
  if (error_count() != before) return std::nullopt;
  return media;
}

void Checker::options_block(const json& options, std::optional<Platform> platform, json& out) {
  if (!options.is_object()) {
    add("post.options", "wrong_type", "post.options must be an object, not " + type_name(options));
    return;
  }
  for (const auto& [key, value] : options.items()) {
    const auto named = platform_from_string(key);
    if (!named) {
      add("post.options." + excerpt(key), "unknown_field",
          "unknown field " + in_quotes(key) + " in post.options; post.options has " + join(kPlatformNames));
      continue;
    }
    if (!platform || *named != *platform || value.is_null()) continue;
    const std::string path = "post.options." + key;
    if (!value.is_object()) {
      add(path, "wrong_type", path + " must be an object, not " + type_name(value));
      continue;
    }
    switch (*platform) {
      case Platform::instagram:
        instagram_options(value, path, out);
        break;
      case Platform::facebook:
        facebook_options(value, path, out);
        break;
      case Platform::tiktok:
        tiktok_options(value, path, out);
        break;
      case Platform::x:
        x_options(value, path, out);
        break;
    }
  }
}

void Checker::bool_option(const json& block, const std::string& path, const char* key, json& out) {
  if (const json* v = member(block, key))
    if (auto b = bool_value(*v, path + "." + key)) out[key] = *b;
}

void Checker::instagram_options(const json& block, const std::string& path, json& out) {
  enum_option(block, path, "as", std::array<std::string_view, 3>{"feed", "reel", "story"}, out);
  bool_option(block, path, "share_to_feed", out);
  refuse_unknown(block, path, {"as", "share_to_feed"}, path);
}

void Checker::facebook_options(const json& block, const std::string& path, json& out) {
  enum_option(block, path, "as", std::array<std::string_view, 2>{"post", "reel"}, out);
  if (const json* link = member(block, "link"))
    if (auto url = url_value(*link, path + ".link", false)) out["link"] = std::move(*url);
  refuse_unknown(block, path, {"as", "link"}, path);
}

void Checker::tiktok_options(const json& block, const std::string& path, json& out) {
  enum_option(block, path, "mode", std::array<std::string_view, 2>{"direct", "inbox"}, out);
  enum_option(block, path, "source", std::array<std::string_view, 2>{"upload", "pull"}, out);
  enum_option(block, path, "privacy_level", kTikTokPrivacyLevels, out);
  bool_option(block, path, "disable_comment", out);
  bool_option(block, path, "disable_duet", out);
  bool_option(block, path, "disable_stitch", out);
  refuse_unknown(block, path, {"mode", "source", "privacy_level", "disable_comment", "disable_duet", "disable_stitch"},
                 path);
}

void Checker::x_options(const json& block, const std::string& path, json& out) {
  if (const json* v = member(block, "reply_to")) {
    const std::string field = path + ".reply_to";
    if (const std::string* s = string_value(*v, field, "a post id string")) {
      const bool ok = !s->empty() && s->size() <= kMaxXPostIdDigits &&
                      std::all_of(s->begin(), s->end(), [](char c) { return c >= '0' && c <= '9'; });
      if (ok)
        out["reply_to"] = *s;
      else
        add(field, "invalid_value", field + " must be a numeric post id (got " + in_quotes(*s) + ")");
    }
  }
  if (const json* v = member(block, "thread")) thread(*v, path + ".thread", out);
  refuse_unknown(block, path, {"reply_to", "thread"}, path);
}

void Checker::thread(const json& v, const std::string& field, json& out) {
  if (!v.is_array()) {
    add(field, "wrong_type", field + " must be an array of post texts, not " + type_name(v));
    return;
  }
  if (v.size() > kMaxThreadPosts) {
    add(field, "too_many",
        field + " has " + std::to_string(v.size()) + " items; at most " + std::to_string(kMaxThreadPosts) +
            " are allowed");
    return;
  }
  const std::size_t before = error_count();
  json posts = json::array();
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string item = field + "[" + std::to_string(i) + "]";
    const std::string* s = string_value(v[i], item, "a string");
    if (!s) continue;
    if (s->empty())
      add(item, "invalid_value", item + " must not be empty");
    else if (text_ok(*s, item, rules_for(Platform::x).text_max, true, "x"))
      posts.push_back(*s);
  }
  if (error_count() == before) out["thread"] = std::move(posts);
}

void Checker::content_rules(Platform platform, const Post& post, bool has_text, bool has_link) {
  const PlatformRules& rules = rules_for(platform);
  const std::string name(to_string(platform));
  const auto& media = post.media;
  const auto videos =
      std::count_if(media.begin(), media.end(), [](const Media& m) { return m.kind == MediaKind::video; });
  const auto option = [&](const char* key) {
    const auto it = post.options.find(key);
    return it != post.options.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const bool one_video = media.size() == 1 && videos == 1;

  if (rules.media_required && media.empty()) {
    add("post.media", "required", "post.media must have at least one image or video for " + name);
  } else if (!rules.media_required && media.empty() && !has_text && !(platform == Platform::facebook && has_link)) {
    add("post", "required",
        platform == Platform::facebook ? "post needs text, media or options.facebook.link for facebook"
                                       : "post needs text or media for " + name);
  }
  if (rules.video_alone && videos > 0 && media.size() > 1)
    add("post.media", "invalid_value", "on " + name + " a video must be the only item in post.media");

  if (platform == Platform::instagram) {
    if (option("as") == "reel" && !one_video)
      add("post.media", "invalid_value", "an instagram reel needs exactly one video in post.media");
    if (option("as") == "story") {
      if (media.size() != 1)
        add("post.media", "invalid_value", "an instagram story needs exactly one image or video in post.media");
      if (has_text)
        add("post.text", "not_allowed",
            "post.text is not allowed in an instagram story (stories "
            "have no caption)");
    }
  }
  if (platform == Platform::facebook && option("as") == "reel" && !one_video)
    add("post.media", "invalid_value", "a facebook reel needs exactly one video in post.media");
  // §2.6: TikTok takes photos only by PULL_FROM_URL.
  if (platform == Platform::tiktok && option("source") == "upload" && videos == 0 && !media.empty())
    add("post.options.tiktok.source", "invalid_value",
        "post.options.tiktok.source must be pull for photo posts: tiktok takes photos only by URL");
}

}  // namespace schedulo::jobs::validation
