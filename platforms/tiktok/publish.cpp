// The TikTok publish steps (sections 2.2-2.7) on the publish driver's state machine:
//
//   validate  what the job asks for: video by FILE_UPLOAD or PULL_FROM_URL (a verified prefix), or
//             photos (PULL_FROM_URL only); direct post or inbox draft
//   stage     FILE_UPLOAD: the video downloaded to a private file and inspected
//   create    creator_info for a direct post (privacy level among the account's options, duration
//             limit, comment/duet/stitch as the creator allows); FILE_UPLOAD: the init
//   upload    FILE_UPLOAD: every chunk but the last, each resumed from the server's range
//   publish   the irreversible call: the last chunk (201 starts the post), or the PULL_FROM_URL or
//             photo init
//   confirm   status/fetch; while TikTok processes, the job waits (worker freed) and polls again
//
// The checkpoint's ids hold publish_id, the upload_url and the chunk plan, so a later attempt resumes
// the upload where the server says it is, and settles a lost last-chunk answer by publish_id.
#include <boost/asio/steady_timer.hpp>

#include <algorithm>

#include "common/rfc3339.hpp"
#include "jobs/token_use.hpp"
#include "platforms/errors/messages.hpp"
#include "platforms/http/staging.hpp"
#include "platforms/tiktok/api.hpp"
#include "platforms/tiktok/publish.hpp"

namespace schedulo::tiktok {
namespace {

using jobs::Outcome;
using jobs::PublishStep;
using jobs::StepResult;
using std::chrono::milliseconds;

constexpr std::int64_t kUploadUrlLifeMs = 55 * 60 * 1000;  // valid 1 h; a margin for the last chunk
constexpr int kChunkTries = 4;                             // per chunk within one attempt
constexpr int kInitsPerAttempt = 3;

std::string join(const json& list) {
  std::string out;
  for (const auto& v : list)
    if (v.is_string()) out += (out.empty() ? "" : ", ") + v.get<std::string>();
  return out;
}

std::string option(const jobs::Job& job, const char* key) {
  const auto& o = job.post->options;
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag(const jobs::Job& job, const char* key) {
  const auto& o = job.post->options;
  auto it = o.find(key);
  return it != o.end() && it->is_boolean() && it->get<bool>();
}

std::string content_type_of(const http::MediaInfo& info) {
  switch (info.type) {
    case http::MediaType::mov:
      return "video/quicktime";
    case http::MediaType::webm:
      return "video/webm";
    default:
      return "video/mp4";
  }
}

net::awaitable<void> pause(milliseconds how_long) {
  net::Timer timer(co_await net::asio::this_coro::executor);
  timer.expires_after(how_long);
  co_await timer.async_wait();
}

class TikTokSteps final : public jobs::PublishSteps {
 public:
  TikTokSteps(Api& api, tokens::TokenProvider& provider) : api_(api), provider_(provider) {}

  net::awaitable<StepResult> run(PublishStep step, jobs::JobContext& job, json& ids) override {
    switch (step) {
      case PublishStep::validate:
        co_return validate(job, ids);
      case PublishStep::stage:
        co_return co_await stage(job, ids);
      case PublishStep::create:
        co_return co_await create(job, ids);
      case PublishStep::upload:
        co_return co_await upload(job, ids, false);
      case PublishStep::publish:
        co_return co_await publish(job, ids);
      case PublishStep::confirm:
        co_return co_await confirm(job, ids);
    }
    co_return std::nullopt;
  }

  // Validation only computes; staging fetches the video only when it goes up by FILE_UPLOAD (a pull
  // from a URL stages nothing).
  bool calls_out(PublishStep step, const jobs::JobContext&, const json& ids) const override {
    switch (step) {
      case PublishStep::validate:
        return false;
      case PublishStep::stage:
        return file_upload(ids);
      default:
        return true;
    }
  }

  net::awaitable<StepResult> before_publish(jobs::JobContext& job) override {
    co_return co_await jobs::prepare_token(provider_, job);
  }

  net::awaitable<jobs::Existence> find_existing(jobs::JobContext& job, json& ids) override {
    if (ids.value("init_not_sent", false)) co_return jobs::Existence::not_found;
    const auto publish_id = ids.value("publish_id", std::string());
    // A PULL_FROM_URL or photo init whose answer was lost left no publish_id to ask by.
    if (publish_id.empty() || (ids.value("source", "") != "FILE_UPLOAD" && !ids.value("init_answered", false)))
      co_return jobs::Existence::unknown;
    auto check = co_await jobs::token_for_check(provider_, job);
    if (!check.token) co_return check.otherwise;
    const json body{{"publish_id", publish_id}};
    auto call = co_await api_.post("/v2/post/publish/status/fetch/", body, *check.token, job.job(), "status_fetch",
                                   "account", errors::Safety::idempotent);
    if (call.deferred) co_return jobs::Existence::not_now;
    if (!call.ok()) co_return jobs::Existence::unknown;
    const auto answer = read_status(data_of(*call.response()));
    const auto& status = answer.status;
    job.log().info("publish {} of an earlier attempt is {} on TikTok", publish_id, status);
    if (ids.value("source", "") == "FILE_UPLOAD" && status == "PROCESSING_UPLOAD" &&
        answer.uploaded_bytes < ids.value("video_size", std::uint64_t{0}))
      co_return jobs::Existence::not_found;  // the last chunk never arrived: send what is missing
    co_return jobs::Existence::found;
  }

  milliseconds deadline(PublishStep step) const override {
    using namespace std::chrono_literals;
    switch (step) {
      case PublishStep::validate:
        return 10s;
      case PublishStep::stage:
        return 30min;
      case PublishStep::create:
        return 3min;
      case PublishStep::upload:
        return 60min;
      case PublishStep::publish:
        return 15min;  // the last chunk (up to 128 MiB), or one init
      case PublishStep::confirm:
        return 2min;
    }
    return 60s;
  }

 private:
  // ---- validate ------------------------------------------------------------------------------------
  StepResult validate(jobs::JobContext& job, json& ids) {
    const auto& j = job.job();
    if (!j.post || j.post->media.empty()) return Outcome::fail("A TikTok post needs a video or photos.", "bad_job");
    const auto& media = j.post->media;
    const bool video = media.front().kind == jobs::MediaKind::video;
    const auto& prefixes = api_.settings().verified_prefixes;
    ids["mode"] = option(j, "mode") == "inbox" ? "inbox" : "direct";
    ids["media"] = video ? "video" : "photo";
    if (!video) {
      for (const auto& m : media)
        if (!under_prefix(m.url, prefixes))
          return Outcome::fail(
              "TikTok takes photos only from a verified URL prefix (platforms.tiktok.verified_prefixes), "
              "and " +
                  m.url + " is not under one.",
              "url_ownership_unverified");
      ids["source"] = "PULL_FROM_URL";
      return std::nullopt;
    }
    const auto source = option(j, "source");
    const bool verified = under_prefix(media.front().url, prefixes);
    if (source == "pull" && !verified)
      return Outcome::fail(
          "post.options.tiktok.source is pull, but the video's URL is not under a verified prefix "
          "(platforms.tiktok.verified_prefixes), so TikTok would refuse to fetch it.",
          "url_ownership_unverified");
    ids["source"] = source == "upload" || !verified ? "FILE_UPLOAD" : "PULL_FROM_URL";
    return std::nullopt;
  }

  static bool file_upload(const json& ids) { return ids.value("source", "") == "FILE_UPLOAD"; }
  static bool direct(const json& ids) { return ids.value("mode", "") != "inbox"; }

  // ---- stage ---------------------------------------------------------------------------------------
  net::awaitable<StepResult> stage(jobs::JobContext& job, json& ids) {
    if (!file_upload(ids)) co_return std::nullopt;
    co_return co_await ensure_staged(job);
  }

  // The staged file lives as long as this attempt; a later attempt stages again.
  net::awaitable<StepResult> ensure_staged(jobs::JobContext& job) {
    if (staged_.fd() >= 0) co_return std::nullopt;
    http::StageOptions options;
    options.dir = api_.settings().staging_dir;
    options.timeouts.total = std::chrono::minutes(30);
    options.timeouts.body = std::chrono::minutes(2);
    const auto& url = job.job().post->media.front().url;
    auto staged = co_await http::stage_media(api_.guard().http(), url, http::MediaTarget::tiktok_video, options);
    if (!staged) {
      const auto& e = staged.error();
      if (e.permanent()) co_return Outcome::fail("The video could not be used: " + e.message, "media");
      co_return Outcome::retry("The video could not be downloaded: " + e.message, "media_download");
    }
    staged_ = std::move(*staged);
    job.log().info("video staged: {} bytes", staged_.info().bytes);
    co_return std::nullopt;
  }

  // ---- create --------------------------------------------------------------------------------------
  net::awaitable<StepResult> create(jobs::JobContext& job, json& ids) {
    if (direct(ids)) {
      if (auto stop = co_await check_creator(job, ids)) co_return stop;
    }
    if (!file_upload(ids)) co_return std::nullopt;
    if (auto stop = co_await ensure_staged(job)) co_return stop;
    co_return co_await init_upload(job, ids);
  }

  net::awaitable<StepResult> creator_info(jobs::JobContext& job, json& out) {
    const jobs::TokenCall call = [&](const tokens::AccessToken& token) -> net::awaitable<jobs::TokenUse> {
      const json body = json::object();
      auto c = co_await api_.post("/v2/post/publish/creator_info/query/", body, token, job.job(), "creator_info",
                                  "account", errors::Safety::idempotent);
      if (c.ok()) {
        out = data_of(*c.response());
        co_return jobs::TokenUse::done();
      }
      co_return token_use(c, failure_of(c));
    };
    auto result = co_await jobs::with_token(provider_, job, call);
    co_return result;
  }

  // Section 2.2: creator_info before every direct post; the post's settings must fit the account.
  net::awaitable<StepResult> check_creator(jobs::JobContext& job, json& ids) {
    json answer;
    if (auto stop = co_await creator_info(job, answer)) co_return stop;
    const CreatorInfo creator = read_creator_info(answer);
    const json& options = creator.privacy_level_options;
    ids["privacy_level_options"] = options;
    if (!creator.username.empty()) ids["username"] = creator.username;
    const auto& j = job.job();
    const auto level = option(j, "privacy_level");
    if (level.empty())
      co_return Outcome::fail(
          "post.options.tiktok.privacy_level is required for a direct TikTok post; this account allows " +
              join(options) + ".",
          "privacy_level_required");
    if (std::find(options.begin(), options.end(), json(level)) == options.end())
      co_return Outcome::fail(
          "The privacy level " + level + " is not available for this TikTok account; it allows " + join(options) + ".",
          "privacy_level_option_mismatch");
    const auto max_duration = creator.max_video_post_duration_sec;
    if (file_upload(ids)) {
      if (auto stop = co_await ensure_staged(job)) co_return stop;
      const auto& duration = staged_.info().duration_s;
      if (max_duration > 0 && duration && *duration > static_cast<double>(max_duration))
        co_return Outcome::fail("The video lasts " + std::to_string(static_cast<long long>(*duration)) +
                                    " s, longer than this TikTok account may post (" + std::to_string(max_duration) +
                                    " s).",
                                "duration_limit");
    }
    // What the creator turned off stays off, whatever the job asks.
    const bool photo = ids.value("media", "") == "photo";
    json info{{"privacy_level", level}, {"disable_comment", flag(j, "disable_comment") || creator.comment_disabled}};
    if (!photo) {
      info["disable_duet"] = flag(j, "disable_duet") || creator.duet_disabled;
      info["disable_stitch"] = flag(j, "disable_stitch") || creator.stitch_disabled;
      info["brand_content_toggle"] = false;
      info["brand_organic_toggle"] = false;
    }
    ids["post_info"] = std::move(info);
    co_return std::nullopt;
  }

  // The text of the post in post_info (video: title ≤ 2200; photo: description, the title ≤ 90 left out).
  json post_info(const jobs::JobContext& job, const json& ids) const {
    json info = ids.value("post_info", json::object());
    const auto& text = job.job().post->text;
    if (!text.empty()) info[ids.value("media", "") == "photo" ? "description" : "title"] = text;
    return info;
  }

  // FILE_UPLOAD init (direct post or inbox): a publish_id and an upload_url valid for an hour.
  net::awaitable<StepResult> init_upload(jobs::JobContext& job, json& ids) {
    if (++inits_ > kInitsPerAttempt)
      co_return Outcome::retry("TikTok's upload had to be started again too often", "upload_restarts");
    const auto plan = plan_chunks(staged_.info().bytes, api_.settings().chunk_bytes);
    json body{{"source_info",
               {{"source", "FILE_UPLOAD"},
                {"video_size", plan.size},
                {"chunk_size", plan.chunk},
                {"total_chunk_count", plan.count}}}};
    if (direct(ids)) body["post_info"] = post_info(job, ids);
    const bool is_direct = direct(ids);
    const std::string path = is_direct ? "/v2/post/publish/video/init/" : "/v2/post/publish/inbox/video/init/";
    json data;
    if (auto stop = co_await init(job, ids, path, body, is_direct ? "video_init" : "inbox_init",
                                  errors::Safety::idempotent, data))
      co_return stop;
    const InitAnswer started = read_init(data);
    ids["publish_id"] = started.publish_id;
    ids["upload_url"] = started.upload_url;
    ids["video_size"] = plan.size;
    ids["chunk_size"] = plan.chunk;
    ids["chunk_count"] = plan.count;
    ids["uploaded"] = 0;
    ids["upload_expires_at_ms"] = now_epoch_ms() + kUploadUrlLifeMs;
    inited_here_ = true;
    job.log().info("TikTok upload {} started: {} bytes in {} chunk(s) of {}", ids["publish_id"].get<std::string>(),
                   plan.size, plan.count, plan.chunk);
    if (ids["publish_id"].get<std::string>().empty() || ids["upload_url"].get<std::string>().empty())
      co_return Outcome::retry("TikTok's init answer had no publish_id or upload_url", "bad_answer");
    co_return std::nullopt;
  }

  // One init call; a privacy mismatch is told with the account's options.
  net::awaitable<StepResult> init(jobs::JobContext& job, const json& ids, const std::string& path, const json& body,
                                  const char* rule, errors::Safety safety, json& data) {
    const jobs::TokenCall call = [&](const tokens::AccessToken& token) -> net::awaitable<jobs::TokenUse> {
      auto c = co_await api_.post(path, body, token, job.job(), rule, "account", safety);
      if (c.ok()) {
        data = data_of(*c.response());
        co_return jobs::TokenUse::done();
      }
      if (!c.deferred && c.classified.code == "privacy_level_option_mismatch")
        co_return jobs::TokenUse::done(Outcome::fail(
            "TikTok refused the privacy level " + body.value("post_info", json::object()).value("privacy_level", "") +
                " for this account; it allows " + join(ids.value("privacy_level_options", json::array())) + ".",
            "privacy_level_option_mismatch"));
      co_return token_use(c, failure_of(c, safety == errors::Safety::idempotent));
    };
    auto result = co_await jobs::with_token(provider_, job, call);
    co_return result;
  }

  // ---- upload --------------------------------------------------------------------------------------
  net::awaitable<StepResult> status(jobs::JobContext& job, const std::string& publish_id, json& data) {
    const jobs::TokenCall call = [&](const tokens::AccessToken& token) -> net::awaitable<jobs::TokenUse> {
      const json body{{"publish_id", publish_id}};
      auto c = co_await api_.post("/v2/post/publish/status/fetch/", body, token, job.job(), "status_fetch", "account",
                                  errors::Safety::idempotent);
      if (c.ok()) {
        data = data_of(*c.response());
        co_return jobs::TokenUse::done();
      }
      co_return token_use(c, failure_of(c));
    };
    auto result = co_await jobs::with_token(provider_, job, call);
    co_return result;
  }

  // Where an upload begun by an earlier attempt stands: the bytes TikTok holds, or a new init when
  // the upload_url expired or the upload is gone.
  net::awaitable<StepResult> resume_point(jobs::JobContext& job, json& ids) {
    if (inited_here_) co_return std::nullopt;
    const bool same_file = ids.value("video_size", std::uint64_t{0}) == staged_.info().bytes;
    if (!same_file || now_epoch_ms() >= ids.value("upload_expires_at_ms", std::int64_t{0})) {
      job.log().info("the earlier TikTok upload cannot be continued ({}); starting it again",
                     same_file ? "its upload_url expired" : "the video changed");
      co_return co_await init_upload(job, ids);
    }
    json data;
    if (auto stop = co_await status(job, ids.value("publish_id", ""), data)) {
      if (stop->kind != Outcome::Kind::failed) co_return stop;
      co_return co_await init_upload(job, ids);  // invalid_publish_id and the like: a new upload
    }
    const PublishStatus state = read_status(data);
    if (state.status != "PROCESSING_UPLOAD") {
      if (state.status == "FAILED") co_return co_await init_upload(job, ids);
      ids["uploaded"] = ids.value("video_size", std::uint64_t{0});  // the transfer is complete
    } else {
      ids["uploaded"] = state.uploaded_bytes;
    }
    inited_here_ = true;  // what the server holds is known now
    job.log().info("resuming TikTok upload {} at byte {}", ids.value("publish_id", ""), ids["uploaded"].dump());
    co_return std::nullopt;
  }

  // Sends chunks from where the server is: all but the last one, or (`through_last`) to the end.
  net::awaitable<StepResult> upload(jobs::JobContext& job, json& ids, bool through_last) {
    if (!file_upload(ids)) co_return std::nullopt;
    if (auto stop = co_await ensure_staged(job)) co_return stop;
    if (auto stop = co_await resume_point(job, ids)) co_return stop;
    int failures = 0;
    for (;;) {
      ChunkPlan plan;
      plan.size = ids.value("video_size", std::uint64_t{0});
      plan.chunk = ids.value("chunk_size", std::uint64_t{0});
      plan.count = ids.value("chunk_count", std::uint64_t{0});
      const std::uint64_t end = through_last ? plan.size : plan.offset(plan.count - 1);
      const std::uint64_t at = ids.value("uploaded", std::uint64_t{0});
      if (at >= end) co_return std::nullopt;
      const auto index = plan.index_at(at);
      if (!index) {
        // TikTok holds a part no chunk boundary explains: only a new upload can go on.
        if (auto stop = co_await init_upload(job, ids)) co_return stop;
        continue;
      }
      const auto range = staged_.range(plan.offset(*index), plan.length(*index));
      auto c = co_await api_.put_chunk(ids.value("upload_url", ""), range, plan.size, content_type_of(staged_.info()),
                                       job.job());
      const auto* response = c.response();
      const int code = response ? response->status : 0;
      if (code == 206 || code == 201 || (response && response->ok())) {
        ids["uploaded"] = at + range.length;
        failures = 0;
        job.log().info("chunk {}/{} sent ({} bytes)", *index + 1, plan.count, range.length);
        continue;
      }
      if (code == 403 || code == 404) {
        job.log().info("TikTok's upload_url is no longer valid (HTTP {}); starting the upload again", code);
        if (auto stop = co_await init_upload(job, ids)) co_return stop;
        continue;
      }
      // The server says how far it got (416 always; other answers when they carry the header).
      const auto held = response ? received_from_range(response->headers.get("Content-Range").value_or(""))
                                 : std::optional<std::uint64_t>();
      if (++failures > kChunkTries) {
        Outcome out = Outcome::retry(
            "TikTok's upload failed on chunk " + std::to_string(*index + 1) + " (" + c.classified.error_code() + ")",
            c.classified.error_code().empty() ? "upload" : c.classified.error_code());
        co_return out;
      }
      if (held && *held <= plan.size) {
        job.log().info("TikTok holds {} bytes of the upload (HTTP {}); going on from there", *held, code);
        ids["uploaded"] = *held;
        if (code == 416) continue;
      }
      co_await pause(milliseconds(250 * failures));
    }
  }

  // ---- publish -------------------------------------------------------------------------------------
  net::awaitable<StepResult> publish(jobs::JobContext& job, json& ids) {
    if (file_upload(ids)) co_return co_await upload(job, ids, true);
    const auto& j = job.job();
    const bool is_direct = direct(ids);
    const bool photo = ids.value("media", "") == "photo";
    json body;
    std::string path;
    const char* rule = nullptr;
    if (photo) {
      json images = json::array();
      for (const auto& m : j.post->media) images.push_back(m.url);
      body = {{"post_info", post_info(job, ids)},
              {"source_info", {{"source", "PULL_FROM_URL"}, {"photo_cover_index", 0}, {"photo_images", images}}},
              {"post_mode", is_direct ? "DIRECT_POST" : "MEDIA_UPLOAD"},
              {"media_type", "PHOTO"}};
      path = "/v2/post/publish/content/init/";
      rule = "content_init";
    } else {
      body = {{"source_info", {{"source", "PULL_FROM_URL"}, {"video_url", j.post->media.front().url}}}};
      if (is_direct) body["post_info"] = post_info(job, ids);
      path = is_direct ? "/v2/post/publish/video/init/" : "/v2/post/publish/inbox/video/init/";
      rule = is_direct ? "video_init" : "inbox_init";
    }
    json data;
    // The init starts the post: a lost answer leaves nothing to ask by, so it is not retried blindly.
    ids.erase("init_not_sent");
    if (auto stop = co_await init(job, ids, path, body, rule, errors::Safety::unsafe, data)) {
      // Deferred (a rate limit, the circuit, the token being renewed) or refused before processing:
      // nothing reached TikTok, and the next attempt may publish without asking (find_existing).
      if (stop->kind == Outcome::Kind::defer ||
          (stop->kind == Outcome::Kind::retry && stop->error_code != "outcome_unknown"))
        ids["init_not_sent"] = true;
      co_return stop;
    }
    ids["publish_id"] = read_init(data).publish_id;
    ids["init_answered"] = true;
    co_return std::nullopt;
  }

  // ---- confirm -------------------------------------------------------------------------------------
  net::awaitable<StepResult> confirm(jobs::JobContext& job, json& ids) {
    const auto publish_id = ids.value("publish_id", std::string());
    json data;
    if (auto stop = co_await status(job, publish_id, data)) co_return stop;
    const PublishStatus answer = read_status(data);
    const std::string& state = answer.status;
    const auto poll = api_.settings().status_poll;
    if (state == "FAILED") {
      const std::string& reason = answer.fail_reason;
      const auto text = errors::friendly_message("tiktok", reason, "", errors::ErrorClass::permanent).text();
      if (!retryable_fail_reason(reason)) co_return Outcome::fail(text, reason);
      Outcome again = Outcome::retry(text, reason);
      again.checkpoint = json::object();  // TikTok dropped the post: the next attempt starts over
      co_return again;
    }
    if (state == "SEND_TO_USER_INBOX") {
      finish(ids, state, {});
      co_return std::nullopt;
    }
    if (state == "PUBLISH_COMPLETE") {
      const std::string& post_id = answer.post_id;
      const auto now = now_epoch_ms();
      if (!ids.contains("complete_seen_at_ms")) ids["complete_seen_at_ms"] = now;
      if (post_id.empty() &&
          now - ids["complete_seen_at_ms"].get<std::int64_t>() < api_.settings().public_id_wait.count()) {
        co_return Outcome::wait(poll, json(), "TikTok published the post; its public id is not out yet");
      }
      finish(ids, state, post_id);
      co_return std::nullopt;
    }
    co_return Outcome::wait(poll, json(), "TikTok is processing the post (" + state + ")");
  }

  // The job's result: what Bubble and Airtable get (no upload_url, no plan).
  static void finish(json& ids, const std::string& state, const std::string& post_id) {
    json out{{"publish_id", ids.value("publish_id", "")},
             {"status", state},
             {"mode", ids.value("mode", "")},
             {"source", ids.value("source", "")},
             {"media", ids.value("media", "")}};
    if (!post_id.empty()) {
      out["post_id"] = post_id;
      out["published_id"] = post_id;
      if (ids.contains("username") && ids["username"].is_string())
        out["url"] = "https://www.tiktok.com/@" + ids["username"].get<std::string>() + "/video/" + post_id;
    }
    ids = std::move(out);
  }

  Api& api_;
  tokens::TokenProvider& provider_;
  http::StagedMedia staged_;
  bool inited_here_ = false;
  int inits_ = 0;
};

}  // namespace

std::unique_ptr<jobs::PublishSteps> make_publish_steps(Api& api, tokens::TokenProvider& provider) {
  return std::make_unique<TikTokSteps>(api, provider);
}

}  // namespace schedulo::tiktok
