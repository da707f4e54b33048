#include "platforms/instagram/publish.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "common/rfc3339.hpp"
#include "platforms/errors/messages.hpp"
#include "platforms/graph/staging.hpp"
#include "platforms/http/staging.hpp"
#include "platforms/instagram/caption.hpp"

namespace schedulo::instagram {
namespace {

using json = nlohmann::json;
using jobs::Outcome;
using jobs::PublishStep;
using jobs::StepResult;
using std::chrono::milliseconds;

std::string text_of(const json& o, const char* name) {
  const auto it = o.find(name);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag(const json& o, const char* name) {
  const auto it = o.find(name);
  return it != o.end() && it->is_boolean() && it->get<bool>();
}

std::string option(const jobs::Post& post, const char* name) {
  return text_of(post.options, name);
}

http::MediaTarget target_of(const std::string& kind, const jobs::Media& m) {
  const bool video = m.kind == jobs::MediaKind::video;
  if (kind == "story")
    return video ? http::MediaTarget::instagram_story_video : http::MediaTarget::instagram_story_image;
  return video ? http::MediaTarget::instagram_reel : http::MediaTarget::instagram_image;
}

// A container's failure, from its `status` text ("Error: ... 2207026 ..."): the subcode when the
// text names one, for the catalogue.
errors::Classified container_error(const std::string& status_code, const std::string& status) {
  errors::Classified c;
  c.kind = errors::ErrorClass::permanent;
  c.code = status_code == "EXPIRED" ? "-2" : "container_error";
  if (status_code == "EXPIRED") c.subcode = "2207020";
  for (std::size_t i = 0; i + 7 <= status.size(); ++i) {
    if (status.compare(i, 3, "220") == 0 &&
        std::all_of(status.begin() + static_cast<long>(i), status.begin() + static_cast<long>(i) + 7,
                    [](char ch) { return ch >= '0' && ch <= '9'; })) {
      c.subcode = status.substr(i, 7);
      break;
    }
  }
  c.detail = status;
  return c;
}

Outcome fail_with(const errors::Classified& c) {
  const auto friendly = errors::friendly_message("instagram", c);
  return Outcome::fail(friendly.text(), c.error_code().empty() ? "container_error" : c.error_code());
}

class InstagramSteps final : public jobs::PublishSteps {
 public:
  explicit InstagramSteps(Instagram& ig) : ig_(ig) {}

  net::awaitable<StepResult> run(PublishStep step, jobs::JobContext& job, json& ids) override {
    switch (step) {
      case PublishStep::validate:
        co_return validate(job, ids);
      case PublishStep::stage:
        co_return co_await stage(job, ids);
      case PublishStep::create:
        co_return co_await create(job, ids);
      case PublishStep::upload:
        co_return co_await upload(job, ids);
      case PublishStep::publish:
        co_return co_await publish(job, ids);
      case PublishStep::confirm:
        co_return co_await confirm(job, ids);
    }
    co_return std::nullopt;
  }

  // Validation only computes; the upload step of a post without videos that is no carousel has
  // nothing to send or poll (images are fetched by Meta from the container's URL).
  bool calls_out(PublishStep step, const jobs::JobContext& job, const json&) const override {
    switch (step) {
      case PublishStep::validate:
        return false;
      case PublishStep::upload: {
        if (!job.job().post) return true;
        const auto& post = *job.job().post;
        const bool any_video = std::any_of(post.media.begin(), post.media.end(),
                                           [](const jobs::Media& m) { return m.kind == jobs::MediaKind::video; });
        return any_video || post_kind(post) == "carousel";
      }
      default:
        return true;
    }
  }

  net::awaitable<StepResult> before_publish(jobs::JobContext& job) override {
    json ids = job.checkpoint().value("ids", json::object());
    if (auto stop = co_await ig_.prepare(job, ids)) co_return stop;  // the token, renewed now if due
    // The publishing quota, read at runtime (50 or 100 a day: never assumed).
    graph::GraphCall limit;
    limit.path = "/{ig-user-id}/content_publishing_limit";
    limit.params = {{"fields", "quota_usage,config"}};
    limit.endpoint = "GET /{ig-user-id}/content_publishing_limit";
    auto quota = co_await ig_.call(job, ids, limit);
    if (quota.stop) co_return with_ids(std::move(*quota.stop), job, ids);
    if (quota.ok()) {
      const PublishingQuota limit_now = read_publishing_limit(quota.answer->body);
      if (limit_now.used_up()) {
        job.log().info("publishing quota used up ({} of {}); deferring", limit_now.used, limit_now.total);
        co_return with_ids(quota_deferral(), job, ids);
      }
    } else if (quota.answer && quota.answer->deferred()) {
      co_return with_ids(Instagram::failure(*quota.answer), job, ids);
    }
    // After a 9007, the container is polled until ready before publishing it again.
    if (flag(ids, "must_poll")) {
      auto ready = co_await poll(job, ids, text_of(ids, "container"));
      if (ready) co_return with_ids(std::move(*ready), job, ids);
    }
    co_return std::nullopt;
  }

  // A check that was throttled, or that the limits held back, tells nothing yet: the attempt defers
  // (not_now) and asks again once the throttle clears, instead of giving up on an unknown outcome.
  net::awaitable<jobs::Existence> find_existing(jobs::JobContext& job, json& ids) override {
    if (!ig_.tokens()) co_return jobs::Existence::unknown;
    auto token = co_await jobs::token_for_check(*ig_.tokens(), job);
    if (!token.token) co_return token.otherwise;
    const std::string container = text_of(ids, "container");
    std::optional<bool> published;
    if (!container.empty()) {
      graph::GraphCall status;
      status.path = "/" + container;
      status.params = {{"fields", "id,status_code"}};
      status.endpoint = "GET /{container-id}";
      const auto answer = co_await ig_.call_with(job, ids, *token.token, status);
      if (answer.throttled_or_held()) co_return jobs::Existence::not_now;
      if (answer.ok()) {
        const auto code = answer.text("status_code");
        published = code == "PUBLISHED";
        job.log().info("reconciling: container {} is {}", container, code);
      }
    }
    if (published && !*published) co_return jobs::Existence::not_found;
    // The account's recent media (stories apart): the post is the one with this caption and kind.
    const std::string kind = post_kind(*job.job().post);
    const std::string caption = job.job().post->text;
    if (kind != "story" && !caption.empty()) {
      graph::GraphCall recent;
      recent.path = kind == "story" ? "/{ig-user-id}/stories" : "/{ig-user-id}/media";
      recent.params = {{"fields", "id,caption,media_product_type,timestamp"}, {"limit", "25"}};
      recent.endpoint = "GET /{ig-user-id}/media";
      const auto answer = co_await ig_.call_with(job, ids, *token.token, recent);
      if (answer.ok() && answer.body.contains("data") && answer.body["data"].is_array()) {
        for (const auto& m : answer.body["data"]) {
          if (!m.is_object() || text_of(m, "caption") != caption) continue;
          ids["published_id"] = text_of(m, "id");
          co_return jobs::Existence::found;
        }
        if (published) co_return jobs::Existence::found;  // published, its id not found among the recent
      }
      if (!published && answer.throttled_or_held()) co_return jobs::Existence::not_now;
    }
    if (published) co_return jobs::Existence::found;
    co_return jobs::Existence::unknown;
  }

  milliseconds deadline(PublishStep step) const override {
    switch (step) {
      case PublishStep::validate:
        return std::chrono::seconds(5);
      case PublishStep::stage:
        return std::chrono::minutes(10);
      case PublishStep::create:
        return std::chrono::minutes(3);
      case PublishStep::upload:
        return std::chrono::minutes(20);
      case PublishStep::publish:
        return std::chrono::seconds(90);
      case PublishStep::confirm:
        return std::chrono::seconds(60);
    }
    return std::chrono::seconds(60);
  }

 private:
  // ---- validate ------------------------------------------------------------------------------------
  static StepResult validate(jobs::JobContext& job, json& ids) {
    if (!job.job().post || job.job().post->media.empty())
      return Outcome::fail("An Instagram post needs at least one image or video.", "media_required");
    const auto& post = *job.job().post;
    const std::string kind = post_kind(post);
    if (kind == "carousel" && (post.media.size() < 2 || post.media.size() > 10))
      return Outcome::fail(
          "An Instagram carousel has 2 to 10 items; this post has " + std::to_string(post.media.size()) + ".",
          "carousel_size");
    if (kind == "story" && !post.text.empty())
      return Outcome::fail("Instagram stories have no caption: remove the post's text.", "story_caption");
    if (kind == "reel" && (post.media.size() != 1 || post.media[0].kind != jobs::MediaKind::video))
      return Outcome::fail("An Instagram reel is exactly one video.", "reel_media");
    if (auto problem = caption_problem(post.text)) return Outcome::fail(*problem, "caption_rules");
    ids["kind"] = kind;
    return std::nullopt;
  }

  // ---- stage ---------------------------------------------------------------------------------------
  // Whether item `i` goes up by rupload (Facebook Login only).
  bool by_rupload(const json& ids, const jobs::Media& m) const {
    if (m.kind != jobs::MediaKind::video) return false;
    if (text_of(ids, "login") == "instagram") return false;
    switch (ig_.options().video_upload) {
      case VideoUpload::url:
        return false;
      case VideoUpload::rupload:
        return true;
      case VideoUpload::automatic:
        return !public_media_url(m.url);
    }
    return false;
  }

  net::awaitable<StepResult> stage_item(jobs::JobContext& job, std::size_t i) {
    const auto& post = *job.job().post;
    const auto& m = post.media[i];
    const std::string text = "Media item " + std::to_string(i + 1) + " cannot be published on Instagram: ";
    const graph::StageWording wording{text, text, "", ""};
    if (staged_.size() < post.media.size()) staged_.resize(post.media.size());
    co_return co_await graph::stage_for_publish(ig_.http(), job, m.url, target_of(post_kind(post), m),
                                                ig_.options().stage_dir, wording, staged_[i]);
  }

  net::awaitable<StepResult> stage(jobs::JobContext& job, json& ids) {
    // The login decides how videos go up: know it before staging.
    if (auto stop = co_await ig_.prepare(job, ids)) co_return stop;
    const auto& post = *job.job().post;
    for (std::size_t i = 0; i < post.media.size(); ++i) {
      if (auto stop = co_await stage_item(job, i)) co_return stop;
      if (!by_rupload(ids, post.media[i])) staged_[i] = http::StagedMedia();  // checked; Meta fetches it
    }
    co_return std::nullopt;
  }

  // ---- create --------------------------------------------------------------------------------------
  // The parameters of item i's container.
  graph::Params container_params(const jobs::JobContext& job, const json& ids, std::size_t i) const {
    const auto& post = *job.job().post;
    const auto& m = post.media[i];
    const std::string kind = post_kind(post);
    const bool video = m.kind == jobs::MediaKind::video;
    graph::Params p;
    if (kind == "carousel") {
      p.emplace_back("is_carousel_item", "true");
      if (video) p.emplace_back("media_type", "VIDEO");
    } else if (kind == "story") {
      p.emplace_back("media_type", "STORIES");
    } else if (kind == "reel") {
      p.emplace_back("media_type", "REELS");
      if (post.options.contains("share_to_feed") && post.options["share_to_feed"].is_boolean())
        p.emplace_back("share_to_feed", post.options["share_to_feed"].get<bool>() ? "true" : "false");
    }
    if (!video) {
      p.emplace_back("image_url", m.url);
      if (!m.alt_text.empty()) p.emplace_back("alt_text", m.alt_text);
    } else if (by_rupload(ids, m)) {
      p.emplace_back("upload_type", "resumable");
    } else {
      p.emplace_back("video_url", m.url);
    }
    if ((kind == "image" || kind == "reel") && !post.text.empty()) p.emplace_back("caption", post.text);
    return p;
  }

  net::awaitable<StepResult> create(jobs::JobContext& job, json& ids) {
    const auto& post = *job.job().post;
    if (!ids.contains("items") || !ids["items"].is_array()) ids["items"] = json::array();
    auto& items = ids["items"];
    while (items.size() < post.media.size()) items.push_back(json::object());
    for (std::size_t i = 0; i < post.media.size(); ++i) {
      if (!text_of(items[i], "container").empty()) continue;  // made by an earlier attempt
      graph::GraphCall c;
      c.method = "POST";
      c.path = "/{ig-user-id}/media";
      c.params = container_params(job, ids, i);
      c.endpoint = "POST /{ig-user-id}/media";
      auto made = co_await ig_.call(job, ids, c);
      if (made.stop) co_return made.stop;
      if (!made.ok()) co_return Instagram::failure(*made.answer);
      items[i]["container"] = made.answer->text("id");
      items[i]["video"] = post.media[i].kind == jobs::MediaKind::video;
      items[i]["resumable"] = by_rupload(ids, post.media[i]);
      if (const auto uri = made.answer->text("uri"); !uri.empty()) items[i]["uri"] = uri;
      job.log().info("container {} created for item {}", made.answer->text("id"), i + 1);
    }
    if (post_kind(post) != "carousel") ids["container"] = items[0]["container"];
    co_return std::nullopt;
  }

  // ---- upload and polls ----------------------------------------------------------------------------
  net::awaitable<StepResult> rupload(jobs::JobContext& job, json& ids, std::size_t i) {
    auto& item = ids["items"][i];
    if (staged_.size() <= i || staged_[i].path().empty()) {
      if (auto stop = co_await stage_item(job, i)) co_return stop;  // a new attempt: the file again
    }
    const auto& file = staged_[i];
    const std::uint64_t total = file.info().bytes;
    const std::string url = ig_.rupload_url(text_of(item, "container"), text_of(item, "uri"));
    std::uint64_t last_offset = UINT64_MAX;
    int stalls = 0;
    for (;;) {
      // Where the host is: what it acknowledged (a cut request keeps what arrived).
      graph::GraphCall status;
      status.path = url;
      status.token_in = graph::TokenPlacement::oauth_header;
      status.endpoint = "GET rupload/ig-api-upload/{container-id}";
      auto asked = co_await ig_.call(job, ids, status);
      if (asked.stop) co_return asked.stop;
      std::uint64_t offset = 0;
      if (asked.ok()) {
        const auto& b = asked.answer->body;
        if (b.is_object() && b.contains("offset") && b["offset"].is_number_unsigned())
          offset = b["offset"].get<std::uint64_t>();
      } else if (asked.answer->deferred()) {
        co_return Instagram::failure(*asked.answer);
      }
      if (offset >= total) break;
      if (offset == last_offset && ++stalls >= 3)
        co_return Outcome::retry("the video upload to Instagram makes no progress", "upload_stalled");
      if (offset != last_offset) {
        if (last_offset != UINT64_MAX) job.log().info("video upload resumes at byte {} of {}", offset, total);
        stalls = 0;
      }
      last_offset = offset;
      const std::uint64_t length = std::min<std::uint64_t>(total - offset, ig_.options().rupload_chunk_bytes);
      graph::GraphCall send;
      send.method = "POST";
      send.path = url;
      send.token_in = graph::TokenPlacement::oauth_header;
      send.headers.set("offset", std::to_string(offset));
      send.headers.set("file_size", std::to_string(total));
      send.raw = graph::RawBody{"application/octet-stream", file.range(offset, length)};
      send.endpoint = "POST rupload/ig-api-upload/{container-id}";
      auto sent = co_await ig_.call(job, ids, send);  // resending is safe: bytes before the offset are skipped
      if (sent.stop) co_return sent.stop;
      if (sent.answer->deferred()) co_return Instagram::failure(*sent.answer);
      if (sent.ok() && offset + length >= total) break;
      // A partial answer, a cut connection: ask the offset again.
    }
    item["uploaded"] = true;
    co_return std::nullopt;
  }

  // Starts a fresh run from `create` when the container is gone and this is the first time; else the
  // job fails with the container's error.
  StepResult recreate(jobs::JobContext& job, json& ids, const errors::Classified& why) {
    if (flag(ids, "recreated")) return fail_with(why);
    job.log().info("container {} cannot be published ({}); making it again", text_of(ids, "container"),
                   why.error_code());
    json fresh = json::object();
    for (const char* keep : {"kind", "login", "ig_user_id"})
      if (ids.contains(keep)) fresh[keep] = ids[keep];
    fresh["recreated"] = true;
    ids = fresh;
    json checkpoint = job.checkpoint().is_object() ? job.checkpoint() : json::object();
    checkpoint["done"] = "stage";
    checkpoint["ids"] = ids;
    checkpoint["publish_sent"] = false;
    Outcome again = Outcome::wait(milliseconds(0), checkpoint, "recreating the Instagram container");
    return again;
  }

  // One poll of `container`: nullopt when FINISHED; a wait while IN_PROGRESS (or the read failed: a
  // failed read after a successful create means keep polling); a recreation when EXPIRED or ERROR.
  net::awaitable<StepResult> poll(jobs::JobContext& job, json& ids, const std::string& container) {
    if (!ids.contains("poll_started_ms")) ids["poll_started_ms"] = now_epoch_ms();
    graph::GraphCall status;
    status.path = "/" + container;
    status.params = {{"fields", "id,status_code,status"}};
    status.endpoint = "GET /{container-id}";
    auto read = co_await ig_.call(job, ids, status);
    if (read.stop) co_return read.stop;
    if (read.answer->deferred()) co_return Instagram::failure(*read.answer);
    if (read.ok()) {
      const auto code = read.answer->text("status_code");
      if (code == "FINISHED" || code == "PUBLISHED") co_return std::nullopt;
      if (code == "ERROR" || code == "EXPIRED")
        co_return recreate(job, ids, container_error(code, read.answer->text("status")));
    } else if (read.answer->classified().kind == errors::ErrorClass::permanent) {
      co_return recreate(job, ids, read.answer->classified());  // the container is not there any more
    }
    const auto waited = now_epoch_ms() - ids["poll_started_ms"].get<std::int64_t>();
    if (waited > ig_.options().container_timeout.count())
      co_return Outcome::fail("Instagram did not finish processing the media within " +
                                  std::to_string(ig_.options().container_timeout.count() / 60000) + " minutes.",
                              "container_timeout");
    co_return Outcome::wait(ig_.options().poll_interval, nullptr, "Instagram is processing the media");
  }

  net::awaitable<StepResult> upload(jobs::JobContext& job, json& ids) {
    auto& items = ids["items"];
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (flag(items[i], "resumable") && !flag(items[i], "uploaded")) {
        if (auto stop = co_await rupload(job, ids, i)) co_return stop;
      }
    }
    // Videos take time; images are usually ready at once (a 9007 on publishing says otherwise).
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!flag(items[i], "video") || flag(items[i], "ready")) continue;
      if (auto wait = co_await poll(job, ids, text_of(items[i], "container"))) co_return wait;
      items[i]["ready"] = true;
    }
    const auto& post = *job.job().post;
    if (post_kind(post) == "carousel" && text_of(ids, "container").empty()) {
      std::string children;
      for (const auto& item : items) children += (children.empty() ? "" : ",") + text_of(item, "container");
      graph::GraphCall c;
      c.method = "POST";
      c.path = "/{ig-user-id}/media";
      c.params = {{"media_type", "CAROUSEL"}, {"children", children}};
      if (!post.text.empty()) c.params.emplace_back("caption", post.text);
      c.endpoint = "POST /{ig-user-id}/media";
      auto made = co_await ig_.call(job, ids, c);
      if (made.stop) co_return made.stop;
      if (!made.ok()) {
        if (graph::container_gone(made.answer->classified()) || made.answer->classified().subcode == "2207028")
          co_return recreate(job, ids, made.answer->classified());
        co_return Instagram::failure(*made.answer);
      }
      ids["container"] = made.answer->text("id");
      ids.erase("poll_started_ms");
      job.log().info("carousel container {} created", text_of(ids, "container"));
    }
    const bool any_video = std::any_of(items.begin(), items.end(), [](const json& it) { return flag(it, "video"); });
    if (post_kind(post) == "carousel" && any_video && !flag(ids, "container_ready")) {
      if (auto wait = co_await poll(job, ids, text_of(ids, "container"))) co_return wait;
      ids["container_ready"] = true;
    }
    co_return std::nullopt;
  }

  // ---- publish -------------------------------------------------------------------------------------
  // An outcome that keeps `ids` and says the publish call did not happen (so no reconciliation).
  static Outcome not_sent(Outcome outcome, jobs::JobContext& job, const json& ids) {
    json checkpoint = job.checkpoint().is_object() ? job.checkpoint() : json::object();
    checkpoint["ids"] = ids;
    checkpoint["publish_sent"] = false;
    outcome.checkpoint = std::move(checkpoint);
    return outcome;
  }
  static StepResult with_ids(Outcome outcome, jobs::JobContext& job, const json& ids) {
    if (outcome.checkpoint.is_null()) {
      json checkpoint = job.checkpoint().is_object() ? job.checkpoint() : json::object();
      checkpoint["ids"] = ids;
      outcome.checkpoint = std::move(checkpoint);
    }
    return outcome;
  }
  Outcome quota_deferral() const {
    return Outcome::defer(
        "This Instagram account reached its limit of posts for 24 hours. It is posted automatically "
        "when the limit allows.",
        "quota_exhausted", ig_.options().quota_recheck);
  }

  net::awaitable<StepResult> publish(jobs::JobContext& job, json& ids) {
    graph::GraphCall c;
    c.method = "POST";
    c.path = "/{ig-user-id}/media_publish";
    c.params = {{"creation_id", text_of(ids, "container")}};
    c.safety = errors::Safety::unsafe;
    c.endpoint = "POST /{ig-user-id}/media_publish";
    auto sent = co_await ig_.call(job, ids, c);
    if (sent.stop) co_return not_sent(std::move(*sent.stop), job, ids);  // the token was refused: not published
    const auto& answer = *sent.answer;
    if (answer.ok()) {
      ids["published_id"] = answer.text("id");
      ids.erase("must_poll");
      job.log().info("published container {} as media {}", text_of(ids, "container"), answer.text("id"));
      co_return std::nullopt;
    }
    if (answer.deferred()) co_return not_sent(Instagram::failure(answer), job, ids);
    const auto& c2 = answer.classified();
    if (graph::not_ready(c2)) {
      job.log().info("container {} not ready for publishing (9007); polling it, then publishing it again",
                     text_of(ids, "container"));
      ids["must_poll"] = true;
      co_return not_sent(Outcome::wait(ig_.options().poll_interval, nullptr, "Instagram is processing the media"), job,
                         ids);
    }
    if (graph::container_gone(c2)) {
      auto again = recreate(job, ids, c2);
      co_return again;
    }
    if (c2.code == "9" && c2.subcode == "2207042") co_return not_sent(quota_deferral(), job, ids);
    if (c2.kind == errors::ErrorClass::outcome_unknown) co_return Instagram::failure(answer);  // reconcile next
    co_return not_sent(Instagram::failure(answer), job, ids);  // Instagram answered: nothing was published
  }

  // ---- confirm -------------------------------------------------------------------------------------
  net::awaitable<StepResult> confirm(jobs::JobContext& job, json& ids) {
    const std::string media = text_of(ids, "published_id");
    if (media.empty()) co_return std::nullopt;  // published (the container says so); its id is not known
    graph::GraphCall c;
    c.path = "/" + media;
    c.params = {{"fields", "id,permalink,media_type,media_product_type,timestamp"}};
    c.endpoint = "GET /{ig-media-id}";
    auto read = co_await ig_.call(job, ids, c);
    if (read.stop) co_return read.stop;
    if (!read.ok()) co_return Instagram::failure(*read.answer);
    ids["permalink"] = read.answer->text("permalink");
    ids["media_type"] = read.answer->text("media_type");
    ids["media_product_type"] = read.answer->text("media_product_type");
    co_return std::nullopt;
  }

  Instagram& ig_;
  std::vector<http::StagedMedia> staged_;
};

}  // namespace

std::string post_kind(const jobs::Post& post) {
  const std::string as = option(post, "as");
  if (as == "story") return "story";
  if (as == "reel") return "reel";
  if (post.media.size() >= 2) return "carousel";
  if (!post.media.empty() && post.media[0].kind == jobs::MediaKind::video) return "reel";
  return "image";
}

std::unique_ptr<jobs::PublishSteps> make_publish_steps(Instagram& instagram) {
  return std::make_unique<InstagramSteps>(instagram);
}

PublishingQuota read_publishing_limit(const json& body) {
  PublishingQuota out;
  if (!body.is_object() || !body.contains("data") || !body["data"].is_array() || body["data"].empty()) return out;
  const json& first = body["data"][0];
  if (!first.is_object()) return out;
  // A member of another type than a number counts as absent (value() threw on one).
  const auto number = [](const json& o, const char* key) -> long long {
    const auto it = o.find(key);
    return it != o.end() && it->is_number_integer() ? it->get<long long>() : 0;
  };
  out.used = number(first, "quota_usage");
  if (first.contains("config") && first["config"].is_object()) out.total = number(first["config"], "quota_total");
  return out;
}

}  // namespace schedulo::instagram
