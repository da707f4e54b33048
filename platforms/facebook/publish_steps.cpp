// The publish driver's Facebook half (jobs/drivers.cpp runs the steps in order and records `ids` on
// the job after each one; architecture rules 3, 10, 11 and 12).
//
//   step      text, link     photo          album                 video                reel
//   validate  the post kind and how a video travels (ids.kind, ids.transfer)
//   stage     -              -              -                     upload: download, inspect, check limits
//   create    the Page id    the Page id    unpublished photos    upload: start phase  start (reels cap)
//                                           (ids.photo_ids)       (video id, session)  (video id, upload_url)
//   upload    -              -              -                     upload: transfer     rupload (bytes, or
//                                                                 chunks, offsets kept file_url header)
//   publish   POST /feed     POST /photos   POST /feed with       finish phase, or     finish PUBLISHED
//                                           attached_media        one-shot file_url
//   confirm   the permalink  the permalink  the permalink         the status polled: `waiting` between
//                                                                 reads, worker freed; ready -> post id
//
// After a publish with no known outcome, find_existing asks by id first (the video or reel status; the
// album's first photo's page_story_id), then the Page's recent posts (same message and link, created
// since the attempt's window opened); needs_review when neither settles it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "common/log.hpp"
#include "jobs/call_outcome.hpp"
#include "platforms/facebook/page_api.hpp"
#include "platforms/graph/staging.hpp"
#include "platforms/http/staging.hpp"
#include "platforms/http/url.hpp"

namespace schedulo::facebook {
namespace {

using json = nlohmann::json;
using jobs::Outcome;
using jobs::PublishStep;
using jobs::StepResult;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kBoundary = "----schedulo-facebook-7d1f0c2ab94e";
// The largest transfer chunk read into memory: Facebook names the window; a bigger one is cut.
constexpr std::uint64_t kMaxChunkBytes = 16ULL << 20;

std::int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

PostPlan plan_of(const jobs::Job& job) {
  std::vector<MediaItem> media;
  std::string as;
  std::string link;
  if (!job.post) return {};
  for (const auto& m : job.post->media) media.push_back({m.url, m.kind == jobs::MediaKind::video});
  const auto& o = job.post->options;
  if (o.is_object()) {
    as = o.value("as", std::string());
    link = o.value("link", std::string());
  }
  return plan_post(job.post->text, media, as, link);
}

// A GET of one of the Page's objects (a post, a video, a photo) asking for `fields`.
graph::GraphCall page_get(std::string path, std::string fields, std::string endpoint) {
  graph::GraphCall c;
  c.path = std::move(path);
  c.params = {{"fields", std::move(fields)}};
  c.endpoint = std::move(endpoint);
  return c;
}

bool is_video(PostKind kind) {
  return kind == PostKind::video || kind == PostKind::reel;
}

// Whether Facebook could fetch the URL itself: not when it names a private or loopback host.
bool fetchable_by_facebook(const std::string& url) {
  const auto parsed = http::parse_url(url);
  if (!parsed.url) return false;
  return !http::check_public_url(*parsed.url, http::AddressPolicy()).has_value();
}

std::string multipart_transfer(const std::string& session, std::uint64_t start, const std::string& chunk) {
  std::string out;
  const auto field = [&](const char* name, const std::string& value) {
    out += std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value +
           "\r\n";
  };
  field("upload_phase", "transfer");
  field("upload_session_id", session);
  field("start_offset", std::to_string(start));
  out += std::string("--") + kBoundary +
         "\r\nContent-Disposition: form-data; name=\"video_file_chunk\"; filename=\"chunk\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\n";
  out += chunk;
  out += std::string("\r\n--") + kBoundary + "--\r\n";
  return out;
}

bool read_chunk(int fd, std::uint64_t offset, std::uint64_t length, std::string& out) {
  out.resize(length);
  std::uint64_t done = 0;
  while (done < length) {
    const auto n = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n <= 0) return false;
    done += static_cast<std::uint64_t>(n);
  }
  return true;
}

class FacebookSteps final : public jobs::PublishSteps {
 public:
  explicit FacebookSteps(PageApi& api) : api_(api) {}

  net::awaitable<StepResult> run(PublishStep step, jobs::JobContext& job, json& ids) override {
    plan_ = plan_of(job.job());
    switch (step) {
      case PublishStep::validate:
        co_return validate(ids);
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

  // Validation only computes; staging and uploading move a video (or a reel) only; creating calls
  // only for an album, an uploaded video or a reel, or to look up a Page id not known yet; the rest
  // may call.
  bool calls_out(PublishStep step, const jobs::JobContext& job, const json& ids) const override {
    switch (step) {
      case PublishStep::validate:
        return false;
      case PublishStep::create: {
        const auto kind = plan_of(job.job()).kind;
        if (kind == PostKind::album || kind == PostKind::reel || (kind == PostKind::video && uploads(ids))) return true;
        return !api_.knows_page_id(job.job().account, ids);
      }
      case PublishStep::stage:
        return is_video(plan_of(job.job()).kind) && uploads(ids);
      case PublishStep::upload: {
        const auto kind = plan_of(job.job()).kind;
        return kind == PostKind::reel || (kind == PostKind::video && uploads(ids));
      }
      default:
        return true;
    }
  }

  net::awaitable<StepResult> before_publish(jobs::JobContext& job) override {
    co_return co_await jobs::prepare_token(api_.provider(), job);
  }

  net::awaitable<jobs::Existence> find_existing(jobs::JobContext& job, json& ids) override;

  milliseconds deadline(PublishStep step) const override {
    switch (step) {
      case PublishStep::stage:
      case PublishStep::upload:
        return std::chrono::minutes(10);
      case PublishStep::create:
        return std::chrono::minutes(3);  // an album uploads up to ten photos
      default:
        return std::chrono::seconds(90);
    }
  }

 private:
  bool uploads(const json& ids) const { return ids.value("transfer", std::string()) == "upload"; }

  StepResult validate(json& ids) {
    ids["kind"] = std::string(to_string(plan_.kind));
    if (is_video(plan_.kind)) {
      auto mode = api_.options().video_transfer;
      if (mode == VideoTransfer::automatic)
        mode = fetchable_by_facebook(plan_.urls.front()) ? VideoTransfer::file_url : VideoTransfer::upload;
      ids["transfer"] = mode == VideoTransfer::upload ? "upload" : "file_url";
    }
    return std::nullopt;
  }

  // Downloads and checks the video (kept for the upload step of this attempt; a later attempt stages
  // it again).
  net::awaitable<StepResult> stage(jobs::JobContext& job, const json& ids) {
    if (!is_video(plan_.kind) || !uploads(ids) || staged_.fd() >= 0) co_return std::nullopt;
    const auto target =
        plan_.kind == PostKind::reel ? http::MediaTarget::facebook_reel : http::MediaTarget::facebook_video;
    const graph::StageWording wording{
        "The video cannot be published on Facebook: ", "Downloading the video failed: ", "bad_media", "media_download"};
    co_return co_await graph::stage_for_publish(api_.http(), job, plan_.urls.front(), target,
                                                api_.options().staging_dir, wording, staged_);
  }

  std::uint64_t staged_size() const {
    struct stat st {};
    return ::fstat(staged_.fd(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  }

  // Records progress inside a long step (album photos, transfer offsets), so a crash resumes there.
  net::awaitable<bool> keep(jobs::JobContext& job, const json& ids) {
    json checkpoint = job.checkpoint().is_object() ? job.checkpoint() : json::object();
    checkpoint["ids"] = ids;
    const bool saved = co_await job.save_checkpoint(std::move(checkpoint));
    co_return saved;
  }

  net::awaitable<StepResult> create(jobs::JobContext& job, json& ids) {
    StepResult stop;
    const auto page = co_await api_.page_id(job, ids, stop);
    if (!page) co_return stop;
    if (plan_.kind == PostKind::album) co_return co_await create_album_photos(job, ids, *page);
    if (plan_.kind == PostKind::video && uploads(ids)) co_return co_await start_video(job, ids, *page);
    if (plan_.kind == PostKind::reel) co_return co_await start_reel(job, ids, *page);
    co_return std::nullopt;
  }

  // Several photos in one post: each uploaded unpublished, then attached to one feed post.
  net::awaitable<StepResult> create_album_photos(jobs::JobContext& job, json& ids, const std::string& page) {
    json photo_ids = ids.value("photo_ids", json::array());
    for (std::size_t i = photo_ids.size(); i < plan_.urls.size(); ++i) {
      const std::string url = plan_.urls[i];
      graph::GraphAnswer answer;
      const PageApi::MakeCall make = [&] {
        graph::GraphCall c;
        c.method = "POST";
        c.path = "/" + page + "/photos";
        c.params = photo_params(url, "", false);
        c.endpoint = "POST /{page-id}/photos (unpublished)";
        c.object_id = page;
        return c;
      };
      if (auto stop = co_await api_.call(job, make, answer)) co_return stop;
      if (!answer.ok()) co_return PageApi::outcome(answer);
      const auto id = answer.text("id");
      if (id.empty()) co_return Outcome::retry("Facebook did not return the uploaded photo's id", "bad_answer");
      photo_ids.push_back(id);
      ids["photo_ids"] = photo_ids;
      if (!co_await keep(job, ids)) co_return Outcome::defer("could not record progress", "checkpoint", seconds(1));
    }
    co_return std::nullopt;
  }

  net::awaitable<StepResult> start_video(jobs::JobContext& job, json& ids, const std::string& page) {
    if (ids.contains("upload_session_id")) co_return std::nullopt;
    const auto size = staged_size();
    graph::GraphAnswer answer;
    const PageApi::MakeCall make = [&] {
      graph::GraphCall c;
      c.method = "POST";
      c.path = api_.video_url("/" + page + "/videos");
      c.params = video_start_params(size);
      c.endpoint = "POST /{page-id}/videos (start)";
      c.object_id = page;
      return c;
    };
    if (auto stop = co_await api_.call(job, make, answer)) co_return stop;
    if (!answer.ok()) co_return PageApi::outcome(answer);
    const auto session = parse_video_start(answer.body);
    if (!session) co_return Outcome::retry("Facebook's answer to the upload start was not understood", "bad_answer");
    ids["video_id"] = session->video_id;
    ids["upload_session_id"] = session->session_id;
    ids["start_offset"] = session->window.start;
    ids["end_offset"] = session->window.end;
    ids["file_size"] = size;
    co_return std::nullopt;
  }

  net::awaitable<StepResult> start_reel(jobs::JobContext& job, json& ids, const std::string& page) {
    if (ids.contains("video_id")) co_return std::nullopt;
    graph::GraphAnswer answer;
    const PageApi::MakeCall make = [&] {
      graph::GraphCall c;
      c.method = "POST";
      c.path = "/" + page + "/video_reels";
      c.params = reel_start_params();
      c.endpoint = "POST /{page-id}/video_reels (start)";
      c.object_id = page;
      // 30 API-published reels per Page per rolling 24 h (4.2): past it the job defers to a free slot.
      c.buckets.push_back(api_.options().limits.bucket(kPlatform, "account", "video_reels", page));
      return c;
    };
    if (auto stop = co_await api_.call(job, make, answer)) co_return stop;
    if (!answer.ok()) co_return PageApi::outcome(answer);
    const auto session = parse_reel_start(answer.body);
    if (!session) co_return Outcome::retry("Facebook's answer to the reel start was not understood", "bad_answer");
    ids["video_id"] = session->video_id;
    ids["upload_url"] = session->upload_url;
    co_return std::nullopt;
  }

  net::awaitable<StepResult> upload(jobs::JobContext& job, json& ids) {
    // The window in which a post of this attempt can appear (recent-posts reconciliation).
    ids["window_from_ms"] = now_ms();
    if (plan_.kind == PostKind::video && uploads(ids)) co_return co_await transfer_video(job, ids);
    if (plan_.kind == PostKind::reel) co_return co_await upload_reel(job, ids);
    co_return std::nullopt;
  }

  net::awaitable<StepResult> ensure_staged(jobs::JobContext& job, const json& ids) {
    if (staged_.fd() >= 0) co_return std::nullopt;
    co_return co_await stage(job, ids);
  }

  // The legacy phases' transfer loop (4.2): each chunk from the window Facebook named, the next
  // window recorded; a chunk sent at a stale offset (an answer lost, a crash) is answered 1363037
  // with the window to resume from.
  net::awaitable<StepResult> transfer_video(jobs::JobContext& job, json& ids) {
    if (auto stop = co_await ensure_staged(job, ids)) co_return stop;
    const std::string page = ids.value("page_id", std::string());
    const std::string session = ids.value("upload_session_id", std::string());
    TransferWindow window{ids.value("start_offset", std::uint64_t{0}), ids.value("end_offset", std::uint64_t{0})};
    const std::uint64_t size = staged_size();
    int resumes = 0;
    while (!window.done()) {
      const std::uint64_t end = std::min({window.end, size, window.start + kMaxChunkBytes});
      std::string chunk;
      if (window.start >= size || !read_chunk(staged_.fd(), window.start, end - window.start, chunk))
        co_return Outcome::fail("The staged video is shorter than Facebook expects", "bad_media");
      const std::uint64_t start = window.start;
      graph::GraphAnswer answer;
      const PageApi::MakeCall make = [&] {
        graph::GraphCall c;
        c.method = "POST";
        c.path = api_.video_url("/" + page + "/videos");
        c.raw = graph::RawBody{std::string("multipart/form-data; boundary=") + kBoundary,
                               multipart_transfer(session, start, chunk)};
        c.endpoint = "POST /{page-id}/videos (transfer)";
        c.object_id = page;
        return c;
      };
      if (auto stop = co_await api_.call(job, make, answer)) co_return stop;
      if (answer.ok()) {
        const auto next = parse_transfer(answer.body);
        if (!next) co_return Outcome::retry("Facebook's answer to a video chunk was not understood", "bad_answer");
        window = *next;
      } else if (const auto* response = answer.call.response();
                 response != nullptr && parse_resume_window(response->body) && ++resumes <= 3) {
        window = *parse_resume_window(response->body);
        job.log().info("video transfer resumes at byte {} (Facebook's offset)", window.start);
      } else {
        co_return PageApi::outcome(answer);
      }
      ids["start_offset"] = window.start;
      ids["end_offset"] = window.end;
      if (!co_await keep(job, ids)) co_return Outcome::defer("could not record progress", "checkpoint", seconds(1));
    }
    co_return std::nullopt;
  }

  // A reel's bytes to rupload (4.2 reels step 2): the whole file from the offset Facebook holds, or
  // its URL in a file_url header.
  net::awaitable<StepResult> upload_reel(jobs::JobContext& job, json& ids) {
    if (ids.value("uploaded", false)) co_return std::nullopt;
    const std::string url = ids.value("upload_url", std::string());
    const std::string page = ids.value("page_id", std::string());
    graph::GraphAnswer answer;
    if (!uploads(ids)) {
      const std::string media = plan_.urls.front();
      const PageApi::MakeCall make = [&] {
        graph::GraphCall c;
        c.method = "POST";
        c.path = url;
        c.token_in = graph::TokenPlacement::oauth_header;
        c.headers.set("file_url", media);
        c.raw = graph::RawBody{"application/octet-stream", std::string()};
        c.endpoint = "POST rupload /video-upload/{video-id} (file_url)";
        c.object_id = page;
        return c;
      };
      if (auto stop = co_await api_.call(job, make, answer)) co_return stop;
      if (!answer.ok()) co_return PageApi::outcome(answer);
      ids["uploaded"] = true;
      co_return std::nullopt;
    }
    if (auto stop = co_await ensure_staged(job, ids)) co_return stop;
    const std::uint64_t size = staged_size();
    // Where to start: what Facebook already holds (a transfer broken earlier keeps its bytes).
    std::uint64_t offset = 0;
    {
      graph::GraphAnswer status;
      const PageApi::MakeCall ask = [&] {
        graph::GraphCall c;
        c.path = url;
        c.token_in = graph::TokenPlacement::oauth_header;
        c.endpoint = "GET rupload /video-upload/{video-id}";
        c.object_id = page;
        return c;
      };
      if (auto stop = co_await api_.call(job, ask, status)) co_return stop;
      if (status.ok()) offset = std::min(parse_rupload_offset(status.body), size);
    }
    const PageApi::MakeCall make = [&] {
      graph::GraphCall c;
      c.method = "POST";
      c.path = url;
      c.token_in = graph::TokenPlacement::oauth_header;
      c.headers.set("offset", std::to_string(offset));
      c.headers.set("file_size", std::to_string(size));
      c.raw = graph::RawBody{"application/octet-stream", staged_.range(offset, size - offset)};
      c.endpoint = "POST rupload /video-upload/{video-id}";
      c.object_id = page;
      return c;
    };
    if (auto stop = co_await api_.call(job, make, answer)) co_return stop;
    if (!answer.ok()) co_return PageApi::outcome(answer);
    ids["uploaded"] = true;
    co_return std::nullopt;
  }

  net::awaitable<StepResult> publish(jobs::JobContext& job, json& ids) {
    StepResult stop;
    const auto page_found = co_await api_.page_id(job, ids, stop);
    if (!page_found) co_return stop;
    const std::string& page = *page_found;
    graph::GraphCall call;
    call.method = "POST";
    call.safety = errors::Safety::unsafe;
    call.object_id = page;
    switch (plan_.kind) {
      case PostKind::text:
      case PostKind::link:
        call.path = "/" + page + "/feed";
        call.params = feed_params(plan_, {});
        call.endpoint = "POST /{page-id}/feed";
        break;
      case PostKind::album: {
        std::vector<std::string> photos;
        for (const auto& id : ids.value("photo_ids", json::array())) photos.push_back(id.get<std::string>());
        call.path = "/" + page + "/feed";
        call.params = feed_params(plan_, photos);
        call.endpoint = "POST /{page-id}/feed (attached_media)";
        break;
      }
      case PostKind::photo:
        call.path = "/" + page + "/photos";
        call.params = photo_params(plan_.urls.front(), plan_.message, true);
        call.endpoint = "POST /{page-id}/photos";
        break;
      case PostKind::video:
        call.path = api_.video_url("/" + page + "/videos");
        if (uploads(ids)) {
          call.params = video_finish_params(ids.value("upload_session_id", std::string()), plan_.message);
          call.endpoint = "POST /{page-id}/videos (finish)";
        } else {
          call.params = video_file_url_params(plan_.urls.front(), plan_.message);
          call.endpoint = "POST /{page-id}/videos (file_url)";
        }
        break;
      case PostKind::reel:
        call.path = "/" + page + "/video_reels";
        call.params = reel_finish_params(ids.value("video_id", std::string()), plan_.message);
        call.endpoint = "POST /{page-id}/video_reels (finish)";
        break;
    }
    graph::GraphAnswer answer;
    const PageApi::MakeCall make = [&] { return call; };
    if (auto end = co_await api_.call(job, make, answer)) co_return end;
    if (!answer.ok()) {
      // A duplicate after an attempt whose outcome was unknown is evidence the post exists (rule 11).
      if (answer.classified().code == "506" && job.attempt() > 1)
        co_return Outcome::review(
            "Facebook says this post duplicates one already published: an earlier attempt probably posted it. "
            "Check the Page; nothing will be posted again without you.",
            "506");
      co_return PageApi::outcome(answer);
    }
    switch (plan_.kind) {
      case PostKind::text:
      case PostKind::link:
      case PostKind::album:
        ids["published_id"] = answer.text("id");
        break;
      case PostKind::photo:
        ids["photo_id"] = answer.text("id");
        ids["published_id"] = answer.text("post_id").empty() ? answer.text("id") : answer.text("post_id");
        break;
      case PostKind::video:
        if (!uploads(ids)) ids["video_id"] = answer.text("id");
        break;
      case PostKind::reel:
        break;
    }
    co_return std::nullopt;
  }

  net::awaitable<StepResult> confirm(jobs::JobContext& job, json& ids) {
    if (is_video(plan_.kind)) co_return co_await confirm_video(job, ids);
    const std::string post = ids.value("published_id", std::string());
    if (post.empty()) co_return std::nullopt;
    graph::GraphAnswer answer;
    const PageApi::MakeCall make = [&] {
      auto c = page_get("/" + post, "id,permalink_url,created_time", "GET /{post-id}");
      c.object_id = ids.value("page_id", std::string());
      return c;
    };
    if (auto stop = co_await api_.call(job, make, answer)) co_return stop;
    // The post exists (the publish call said so); a failed read only loses the permalink.
    if (answer.ok() && answer.body.is_object())
      ids["permalink_url"] = answer.body.value("permalink_url", std::string());
    else
      job.log().warn("reading the published post's permalink failed: {}", answer.classified().error_code());
    co_return std::nullopt;
  }

  // Processing takes minutes: each read that finds it unfinished ends the attempt `waiting` (the
  // worker is freed) and the job looks again after status_poll.
  net::awaitable<StepResult> confirm_video(jobs::JobContext& job, json& ids) {
    const std::string video = ids.value("video_id", std::string());
    if (video.empty()) co_return Outcome::review("Facebook did not return the video's id; check the Page.", "no_id");
    graph::GraphAnswer answer;
    const PageApi::MakeCall make = [&] {
      auto c = page_get("/" + video, "status,post_id,permalink_url", "GET /{video-id}?fields=status");
      c.object_id = ids.value("page_id", std::string());
      return c;
    };
    if (auto stop = co_await api_.call(job, make, answer)) co_return stop;
    if (!answer.ok()) co_return PageApi::outcome(answer);
    const auto state = parse_video_state(answer.body);
    ids["polls"] = ids.value("polls", 0) + 1;
    switch (state.phase) {
      case VideoState::Phase::failed:
        co_return Outcome::fail("Facebook could not process the video: " + state.error, "video_processing_failed");
      case VideoState::Phase::ready:
        ids["published_id"] = state.post_id.empty() ? video : state.post_id;
        if (!state.permalink_url.empty()) ids["permalink_url"] = state.permalink_url;
        co_return std::nullopt;
      case VideoState::Phase::uploading:
      case VideoState::Phase::processing:
        break;
    }
    job.log().info("Facebook is still processing video {} (read {}); looking again later", video,
                   ids["polls"].get<int>());
    co_return Outcome::wait(api_.options().status_poll, json(), "Facebook is processing the video");
  }

  PageApi& api_;
  PostPlan plan_;
  http::StagedMedia staged_;
};

net::awaitable<jobs::Existence> FacebookSteps::find_existing(jobs::JobContext& job, json& ids) {
  using jobs::Existence;
  plan_ = plan_of(job.job());
  auto check = co_await jobs::token_for_check(api_.provider(), job);
  if (!check.token) co_return check.otherwise;
  const std::string page = ids.value("page_id", std::string());
  const auto ask = [&](graph::GraphCall c) -> net::awaitable<graph::GraphAnswer> {
    c.token = &check.token->value;
    c.job_id = job.job().id;
    c.account = job.job().account;
    c.object_id = page;
    auto answer = co_await api_.graph().call(c);
    co_return answer;
  };

  // By id: a video or reel whose finish reached Facebook exists (its post follows its processing).
  const std::string video = ids.value("video_id", std::string());
  if (is_video(plan_.kind) && !video.empty()) {
    const auto c = page_get("/" + video, "status,post_id,permalink_url", "GET /{video-id}?fields=status");
    const auto answer = co_await ask(c);
    if (answer.throttled_or_held()) co_return Existence::not_now;  // ask again later
    if (!answer.ok()) co_return Existence::unknown;
    const auto state = parse_video_state(answer.body);
    if (!state.finish_received) co_return Existence::not_found;
    ids["published_id"] = state.post_id.empty() ? video : state.post_id;
    co_return Existence::found;
  }
  // By id: the album's photos are attached to the post once it exists (page_story_id).
  const auto photos = ids.value("photo_ids", json::array());
  if (plan_.kind == PostKind::album && !photos.empty()) {
    const auto c = page_get("/" + photos.front().get<std::string>(), "id,page_story_id", "GET /{photo-id}");
    const auto answer = co_await ask(c);
    if (answer.throttled_or_held()) co_return Existence::not_now;  // ask again later
    if (!answer.ok()) co_return Existence::unknown;
    const auto story = answer.text("page_story_id");
    if (story.empty()) co_return Existence::not_found;
    ids["published_id"] = story;
    co_return Existence::found;
  }
  // Then the Page's recent posts. Videos sent by file_url appear only once processed: an absence
  // there settles nothing.
  if (page.empty()) co_return Existence::unknown;
  auto c = page_get("/" + page + "/posts", "id,message,created_time,permalink_url,attachments", "GET /{page-id}/posts");
  c.params.emplace_back("limit", "25");
  const auto answer = co_await ask(c);
  if (answer.throttled_or_held()) co_return Existence::not_now;  // ask again later
  if (!answer.ok()) co_return Existence::unknown;
  std::string post_id;
  const auto since = ids.value("window_from_ms", std::int64_t{0});
  const auto match =
      match_recent(plan_, since, parse_recent_posts(answer.body), recent_posts_complete(answer.body), post_id);
  if (match == Match::found) {
    ids["published_id"] = post_id;
    co_return Existence::found;
  }
  if (match == Match::absent && !is_video(plan_.kind) && since > 0) co_return Existence::not_found;
  co_return Existence::unknown;
}

}  // namespace

std::unique_ptr<jobs::PublishSteps> make_publish_steps(PageApi& api) {
  return std::make_unique<FacebookSteps>(api);
}

}  // namespace schedulo::facebook
