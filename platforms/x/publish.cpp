// X's half of the publish state machine (jobs/drivers.cpp; platform-apis.md 3.2 and 3.4):
//
//   validate  every post's weighted length against platforms.x.text_limit
//   stage     each media file downloaded once to a private file, inspected and checked (up to 4
//             images, or one GIF, or one video)
//   create    nothing: X has no container
//   upload    per media: initialize, append segments of platforms.x.upload_chunk_bytes, finalize,
//             alt text; then STATUS until processing succeeded. A wait longer than
//             platforms.x.inline_wait_ms ends the attempt `waiting` (the worker is freed) and the
//             next attempt polls again; the media ids are in the checkpoint.
//   publish   the post, then each post of options.x.thread as a reply to the one before; every post's
//             id is recorded on the job before the next is sent, so a retry continues the thread.
//   confirm   the post's URL
//
// Checkpoint ids: media[i] {id, key, state, check_after}, posts [ids in thread order], published_id,
// user_id, unknown_index (the post whose publish call had no known outcome).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "platforms/http/media_info.hpp"
#include "platforms/http/media_limits.hpp"
#include "platforms/http/staging.hpp"
#include "platforms/x/publish.hpp"

namespace schedulo::x {
namespace {

using json = nlohmann::json;
using jobs::Outcome;
using jobs::StepResult;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kPostDeadline{30000};
constexpr std::uint64_t kMiB = 1 << 20;

std::vector<std::string> post_texts(const jobs::Job& job) {
  std::vector<std::string> texts;
  const auto& post = *job.post;
  texts.push_back(post.text);
  if (const auto it = post.options.find("thread"); it != post.options.end() && it->is_array())
    for (const auto& t : *it)
      if (t.is_string()) texts.push_back(t.get<std::string>());
  return texts;
}

std::string reply_to(const jobs::Job& job) {
  return job.post->options.value("reply_to", std::string());
}

std::string media_type(http::MediaType type) {
  switch (type) {
    case http::MediaType::jpeg:
      return "image/jpeg";
    case http::MediaType::png:
      return "image/png";
    case http::MediaType::gif:
      return "image/gif";
    case http::MediaType::webp:
      return "image/webp";
    case http::MediaType::mp4:
      return "video/mp4";
    case http::MediaType::mov:
      return "video/quicktime";
    case http::MediaType::webm:
      return "video/webm";
  }
  return "application/octet-stream";
}

std::string media_category(http::MediaType type) {
  if (type == http::MediaType::gif) return "tweet_gif";
  return http::is_video(type) ? "tweet_video" : "tweet_image";
}

json& media_entry(json& ids, std::size_t i) {
  if (!ids.contains("media") || !ids["media"].is_array()) ids["media"] = json::array();
  while (ids["media"].size() <= i) ids["media"].push_back(json::object());
  return ids["media"][i];
}

std::string str(const json& j, const char* name) {
  if (!j.is_object()) return {};
  const auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Waits `delay`; false when cancelled (the step's deadline).
net::awaitable<bool> pause(milliseconds delay) {
  net::Timer timer(co_await net::asio::this_coro::executor);
  timer.expires_after(delay);
  const auto [ec] = co_await timer.async_wait();
  co_return !ec;
}

}  // namespace

Processing processing_of(const json& data) {
  Processing p;
  if (!data.is_object() || !data.contains("processing_info") || !data["processing_info"].is_object()) return p;
  const json& info = data["processing_info"];
  const std::string state = str(info, "state");
  if (state == "succeeded" || state.empty()) return p;
  if (state == "failed") {
    p.state = "failed";
    if (info.contains("error") && info["error"].is_object()) p.error = str(info["error"], "message");
    return p;
  }
  p.state = "processing";
  if (info.contains("check_after_secs") && info["check_after_secs"].is_number_integer())
    // At most a day: the wait becomes milliseconds and a deadline (an unbounded one overflowed).
    p.check_after = seconds(std::clamp<long long>(info["check_after_secs"].get<long long>(), 1, 24 * 3600));
  return p;
}

XPublishSteps::XPublishSteps(XApi& api, http::HttpClient& http) : api_(api), http_(http) {}

XPublishSteps::~XPublishSteps() = default;

std::chrono::milliseconds XPublishSteps::deadline(jobs::PublishStep step) const {
  switch (step) {
    case jobs::PublishStep::validate:
      return seconds(5);
    case jobs::PublishStep::stage:
      return std::chrono::minutes(10);
    case jobs::PublishStep::create:
      return seconds(5);
    case jobs::PublishStep::upload:
      return std::chrono::minutes(30);
    // A thread's posts each take one call; a thread cut short by the deadline is continued by the
    // next attempt from the ids recorded so far.
    case jobs::PublishStep::publish:
      return std::chrono::minutes(2);
    case jobs::PublishStep::confirm:
      return seconds(5);
  }
  return seconds(30);
}

// Validation, create and confirm only compute; staging and uploading fetch and send media.
bool XPublishSteps::calls_out(jobs::PublishStep step, const jobs::JobContext& job, const json&) const {
  switch (step) {
    case jobs::PublishStep::validate:
    case jobs::PublishStep::create:
    case jobs::PublishStep::confirm:
      return false;
    case jobs::PublishStep::stage:
    case jobs::PublishStep::upload:
      return job.job().post && !job.job().post->media.empty();
    case jobs::PublishStep::publish:
      return true;
  }
  return true;
}

net::awaitable<StepResult> XPublishSteps::run(jobs::PublishStep step, jobs::JobContext& job, json& ids) {
  if (!job.job().post) co_return Outcome::fail("a publish job without a post", "bad_job");
  switch (step) {
    case jobs::PublishStep::validate:
      co_return validate(job);
    case jobs::PublishStep::stage:
      co_return co_await stage(job, ids);
    case jobs::PublishStep::create:
      co_return std::nullopt;
    case jobs::PublishStep::upload:
      co_return co_await upload(job, ids);
    case jobs::PublishStep::publish:
      co_return co_await publish(job, ids);
    case jobs::PublishStep::confirm:
      if (const auto id = str(ids, "published_id"); !id.empty()) ids["url"] = "https://x.com/i/status/" + id;
      co_return std::nullopt;
  }
  co_return std::nullopt;
}

StepResult XPublishSteps::validate(const jobs::JobContext& job) const {
  const auto texts = post_texts(job.job());
  const std::size_t limit = api_.settings().text_limit;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::size_t weight = weighted_length(texts[i]);
    if (weight > limit) {
      const std::string which = i == 0 ? "The post's text" : "Post " + std::to_string(i + 1) + " of the thread";
      return Outcome::fail(which + " is " + std::to_string(weight) + " characters as X counts them; X allows " +
                               std::to_string(limit) + ". Shorten it, then post again.",
                           "text_too_long");
    }
  }
  if (texts.front().empty() && job.job().post->media.empty())
    return Outcome::fail("An X post needs text or media.", "empty_post");
  return std::nullopt;
}

net::awaitable<http::Result<http::StagedMedia>> XPublishSteps::stage_file(const jobs::Media& media) {
  const bool video = media.kind == jobs::MediaKind::video;
  std::string name = api_.settings().staging_dir + "/schedulo-x-XXXXXX";
  std::vector<char> path(name.begin(), name.end());
  path.push_back('\0');
  const int fd = ::mkostemp(path.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0)
    co_return http::Error{http::ErrorKind::io, "cannot create a staging file: " + std::string(std::strerror(errno))};
  http::StagedMedia staged(path.data(), fd);
  http::DownloadOptions options;
  // The largest X accepts for the kind (a GIF is an image kind of 15 MB); the exact rule is checked
  // once the bytes say what the file is.
  options.max_bytes = video ? 512 * kMiB : 15 * kMiB;
  options.timeouts.total = std::chrono::minutes(9);
  auto response = co_await http_.download(media.url, fd, options);
  if (!response) co_return response.error();
  auto info = http::inspect_media(http::FileReader(fd));
  if (!info) co_return info.error();
  const auto target = http::media_target("x", jobs::to_string(media.kind), "", info->type);
  if (!target) co_return http::Error{http::ErrorKind::media_rejected, "not a kind of media X takes"};
  if (auto broken = http::check_media(*target, *info)) co_return *broken;
  staged.set_info(std::move(*info));
  co_return staged;
}

net::awaitable<StepResult> XPublishSteps::stage(jobs::JobContext& job, json& ids) {
  const auto& media = job.job().post->media;
  staged_.resize(media.size());
  for (std::size_t i = 0; i < media.size(); ++i) {
    if (!str(media_entry(ids, i), "id").empty() || staged_[i]) continue;  // uploaded by an earlier attempt
    auto failed = co_await stage_one(i, media[i]);
    if (failed) co_return failed;
  }
  // Up to 4 images, or one GIF or one video alone (3.2). A declared video is checked at intake; a GIF
  // is an image until its bytes are read.
  if (media.size() > 1) {
    for (std::size_t i = 0; i < media.size(); ++i) {
      const json& entry = media_entry(ids, i);
      const bool gif =
          staged_[i] ? staged_[i]->info().type == http::MediaType::gif : str(entry, "category") == "tweet_gif";
      if (gif)
        co_return Outcome::fail("X takes a GIF only on its own, not with other media. Post the GIF separately.",
                                "media_mix");
    }
  }
  co_return std::nullopt;
}

net::awaitable<StepResult> XPublishSteps::stage_one(std::size_t i, const jobs::Media& media) {
  auto staged = co_await stage_file(media);
  if (!staged) {
    const auto& e = staged.error();
    const std::string which = "Media " + std::to_string(i + 1);
    if (e.permanent())
      co_return Outcome::fail(which + " cannot be posted on X: " + e.message, std::string(http::to_string(e.kind)));
    co_return Outcome::retry(which + " could not be downloaded: " + e.message, std::string(http::to_string(e.kind)));
  }
  staged_[i].emplace(std::move(*staged));
  co_return std::nullopt;
}

net::awaitable<StepResult> XPublishSteps::upload(jobs::JobContext& job, json& ids) {
  const auto& media = job.job().post->media;
  staged_.resize(media.size());
  std::vector<bool> just_finalized(media.size(), false);
  for (std::size_t i = 0; i < media.size(); ++i) {
    json& entry = media_entry(ids, i);
    if (!str(entry, "id").empty()) continue;
    if (!staged_[i]) {  // a resumed attempt: staged by an attempt that ended before uploading
      auto failed = co_await stage_one(i, media[i]);
      if (failed) co_return failed;
    }
    auto failed = co_await upload_one(job, *staged_[i], media[i], entry);
    if (failed) co_return failed;
    staged_[i].reset();  // uploaded: the file is no longer needed
    just_finalized[i] = true;
  }
  // Processing (GIFs, videos): poll STATUS at the pace X asks for; a long wait frees the worker.
  for (std::size_t i = 0; i < media.size(); ++i) {
    json& entry = media_entry(ids, i);
    bool wait_first = just_finalized[i];
    while (str(entry, "state") == "processing") {
      const seconds check_after(entry.value("check_after", 1));
      if (wait_first) {
        if (check_after > api_.settings().inline_wait)
          co_return Outcome::wait(check_after, nullptr, "X is processing the media");
        const bool waited = co_await pause(check_after);
        if (!waited) co_return Outcome::retry("waiting for X's media processing was cancelled", "cancelled");
      }
      wait_first = true;
      http::Request status;
      status.url = api_.upload("/2/media/upload?command=STATUS&media_id=" + url_encode(str(entry, "id")));
      status.timeouts = api_timeouts();
      auto answer = co_await api_.call(job, Endpoint::media_status, std::move(status));
      if (!answer.ok()) co_return failure(answer);
      const json doc = answer.json();
      const Processing p = processing_of(doc.is_object() ? doc.value("data", json::object()) : json::object());
      if (p.state == "failed")
        co_return Outcome::fail("X could not process media " + std::to_string(i + 1) +
                                    (p.error.empty() ? std::string(".") : ": " + p.error + ".") +
                                    " Check the file, then post again.",
                                "media_processing_failed");
      entry["state"] = p.state;
      entry["check_after"] = p.check_after.count();
      job.log().info("X media {} of the post: {}", i + 1, p.state);
    }
  }
  co_return std::nullopt;
}

net::awaitable<StepResult> XPublishSteps::upload_one(jobs::JobContext& job, const http::StagedMedia& file,
                                                     const jobs::Media& media, json& entry) {
  const auto& info = file.info();
  const json init_body = {{"media_type", media_type(info.type)},
                          {"total_bytes", info.bytes},
                          {"media_category", media_category(info.type)}};
  auto init = co_await api_.call(job, Endpoint::media_initialize,
                                 json_request("POST", api_.upload("/2/media/upload/initialize"), init_body));
  if (!init.ok()) co_return failure(init);
  const json init_doc = init.json();
  const json data = init_doc.is_object() ? init_doc.value("data", json::object()) : json::object();
  const std::string id = str(data, "id");
  if (id.empty()) co_return Outcome::retry("X's media initialize answer had no id", "bad_answer");

  // Segments, read from the staged file one at a time (memory: one segment).
  const std::uint64_t chunk = std::max<std::uint64_t>(1, api_.settings().chunk_bytes);
  const std::string boundary = "schedulo-x-" + id;
  for (std::uint64_t offset = 0, index = 0; offset < info.bytes; offset += chunk, ++index) {
    const std::uint64_t length = std::min(chunk, info.bytes - offset);
    std::string bytes(length, '\0');
    const auto got = ::pread(file.fd(), bytes.data(), length, static_cast<off_t>(offset));
    if (got != static_cast<ssize_t>(length)) co_return Outcome::retry("reading the staged media failed", "io");
    http::Request append;
    append.method = "POST";
    append.url = api_.upload("/2/media/upload/" + id + "/append");
    append.headers.set("Content-Type", "multipart/form-data; boundary=" + boundary);
    std::string body;
    body.reserve(bytes.size() + 4 * boundary.size() + 256);
    body.append("--").append(boundary).append("\r\nContent-Disposition: form-data; name=\"segment_index\"\r\n\r\n");
    body.append(std::to_string(index)).append("\r\n--").append(boundary);
    body.append("\r\nContent-Disposition: form-data; name=\"media\"; filename=\"blob\"\r\n");
    body.append("Content-Type: application/octet-stream\r\n\r\n");
    body.append(bytes);
    body.append("\r\n--").append(boundary).append("--\r\n");
    append.body = std::move(body);
    append.timeouts = upload_timeouts();
    auto sent = co_await api_.call(job, Endpoint::media_append, std::move(append));
    if (!sent.ok()) co_return failure(sent);
  }

  http::Request fin;
  fin.method = "POST";
  fin.url = api_.upload("/2/media/upload/" + id + "/finalize");
  fin.timeouts = api_timeouts();
  auto finalized = co_await api_.call(job, Endpoint::media_finalize, std::move(fin));
  if (!finalized.ok()) co_return failure(finalized);
  const json fin_doc = finalized.json();
  const Processing p = processing_of(fin_doc.is_object() ? fin_doc.value("data", json::object()) : json::object());
  if (p.state == "failed")
    co_return Outcome::fail("X could not process the media" + (p.error.empty() ? std::string() : ": " + p.error),
                            "media_processing_failed");

  if (!media.alt_text.empty()) {
    const json alt = {{"id", id}, {"metadata", {{"alt_text", {{"text", media.alt_text}}}}}};
    auto described =
        co_await api_.call(job, Endpoint::media_metadata, json_request("POST", api_.upload("/2/media/metadata"), alt));
    if (!described.ok()) co_return failure(described);
  }
  entry["id"] = id;
  entry["key"] = str(data, "media_key");
  entry["category"] = media_category(info.type);
  entry["state"] = p.state;
  entry["check_after"] = p.check_after.count();
  job.log().info("X media uploaded ({} bytes, {})", info.bytes, p.state);
  co_return std::nullopt;
}

net::awaitable<StepResult> XPublishSteps::before_publish(jobs::JobContext& job) {
  co_return co_await jobs::prepare_token(api_.tokens(), job);
}

net::awaitable<StepResult> XPublishSteps::publish(jobs::JobContext& job, json& ids) {
  const auto texts = post_texts(job.job());
  json posts = ids.contains("posts") && ids["posts"].is_array() ? ids["posts"] : json::array();
  const int unknown_index = ids.value("unknown_index", -1);
  for (std::size_t k = posts.size(); k < texts.size(); ++k) {
    const bool covered = co_await job.ensure_lease_covers(kPostDeadline);
    if (!covered)
      co_return Outcome::defer("the job's lease could not be extended before the next post", "lease", seconds(1));
    json body = json::object();
    if (!texts[k].empty()) body["text"] = texts[k];
    if (k == 0 && ids.contains("media") && ids["media"].is_array() && !ids["media"].empty()) {
      json media_ids = json::array();
      for (const auto& m : ids["media"]) media_ids.push_back(str(m, "id"));
      body["media"] = {{"media_ids", media_ids}};
    }
    const std::string parent = k == 0 ? reply_to(job.job()) : posts[k - 1].get<std::string>();
    if (!parent.empty()) body["reply"] = {{"in_reply_to_tweet_id", parent}};

    auto answer = co_await api_.call(job, Endpoint::tweets_create, json_request("POST", api_.api("/2/tweets"), body));
    std::string id;
    if (answer.ok()) {
      const json doc = answer.json();
      id = doc.is_object() ? str(doc.value("data", json::object()), "id") : "";
      if (id.empty()) {
        ids["unknown_index"] = static_cast<int>(k);
        co_return Outcome::retry("X answered the post without its id", "outcome_unknown");
      }
    } else if (!answer.stop && answer.call.classified.code == "duplicate" && unknown_index == static_cast<int>(k)) {
      // Architecture rule 11: after an attempt whose outcome was unknown, "duplicate" says the post
      // went out then. Find its id to record (and to continue a thread from).
      job.log().info("X calls post {} a duplicate after an unknown outcome: it exists", k + 1);
      const auto found = co_await locate(job, ids, texts, posts, k);
      if (!found && k + 1 < texts.size())
        co_return Outcome::review("Post " + std::to_string(k + 1) +
                                      " of the thread is on X (X calls it a duplicate) but could not be found "
                                      "to continue the thread from. Check the account; nothing more will be posted.",
                                  "outcome_unknown");
      if (!found) {
        ids["duplicate_evidence"] = true;  // published; its id is not known
        ids.erase("unknown_index");
        break;
      }
      id = *found;
    } else {
      Outcome stop = failure(answer);
      if (!answer.stop && answer.call.classified.kind == errors::ErrorClass::outcome_unknown) {
        ids["unknown_index"] = static_cast<int>(k);
      } else {
        // Known not to be made (refused, deferred, not processed): the next attempt goes on from the
        // recorded posts without asking the timeline first.
        json checkpoint = job.checkpoint().is_object() ? job.checkpoint() : json::object();
        checkpoint["ids"] = ids;
        checkpoint["publish_sent"] = false;
        stop.checkpoint = std::move(checkpoint);
      }
      co_return stop;
    }
    posts.push_back(id);
    ids["posts"] = posts;
    ids["published_id"] = posts[0];
    ids.erase("unknown_index");
    job.log().info("X post {} of {} published", k + 1, texts.size());
    if (k + 1 < texts.size()) {
      // Recorded before the next post goes out: a retry continues the thread from here.
      json checkpoint = job.checkpoint().is_object() ? job.checkpoint() : json::object();
      checkpoint["ids"] = ids;
      checkpoint["publish_sent"] = true;
      const bool saved = co_await job.save_checkpoint(checkpoint);
      if (!saved) co_return Outcome::defer("could not record the thread's progress", "checkpoint", seconds(1));
    }
  }
  co_return std::nullopt;
}

net::awaitable<std::optional<std::string>> XPublishSteps::locate(jobs::JobContext& job, json& ids,
                                                                 const std::vector<std::string>& texts,
                                                                 const json& posts, std::size_t k) {
  json found = posts;
  const auto timeline = co_await recent_posts(job, ids);
  if (!timeline.posts) co_return std::nullopt;
  match(job, ids, texts, *timeline.posts, found);
  if (found.size() > k) co_return found[k].get<std::string>();
  co_return std::nullopt;
}

net::awaitable<XPublishSteps::Timeline> XPublishSteps::recent_posts(jobs::JobContext& job, json& ids) {
  Timeline out;
  if (str(ids, "user_id").empty()) {
    http::Request me;
    me.url = api_.api("/2/users/me");
    me.timeouts = api_timeouts();
    auto answer = co_await api_.call(job, Endpoint::users_me, std::move(me));
    if (!answer.ok()) {
      out.failure = failure(answer);
      co_return out;
    }
    const json doc = answer.json();
    const std::string uid = doc.is_object() ? str(doc.value("data", json::object()), "id") : "";
    if (uid.empty()) {
      out.failure = Outcome::retry("X's users/me answer had no id", "bad_answer");
      co_return out;
    }
    ids["user_id"] = uid;
  }
  const int wanted = std::clamp(api_.settings().reconcile_posts, 5, 100);
  http::Request list;
  list.url = api_.api("/2/users/" + url_encode(str(ids, "user_id")) + "/tweets?max_results=" + std::to_string(wanted) +
                      "&tweet.fields=created_at,referenced_tweets,attachments");
  list.timeouts = api_timeouts();
  auto answer = co_await api_.call(job, Endpoint::user_tweets, std::move(list));
  if (!answer.ok()) {
    out.failure = failure(answer);
    co_return out;
  }
  const json doc = answer.json();
  out.posts = doc.is_object() && doc.contains("data") && doc["data"].is_array() ? doc["data"] : json::array();
  out.full = static_cast<int>(out.posts->size()) >= wanted;
  co_return out;
}

void XPublishSteps::match(const jobs::JobContext& job, const json& ids, const std::vector<std::string>& texts,
                          const json& timeline, json& posts) {
  auto contains = [](const json& list, const std::string& value) {
    return list.is_array() && std::any_of(list.begin(), list.end(), [&](const json& v) { return v == value; });
  };
  for (std::size_t k = posts.size(); k < texts.size(); ++k) {
    const std::string parent = k == 0 ? reply_to(job.job()) : posts[k - 1].get<std::string>();
    // The first post's media key is an id the daemon holds: matched by it when there is one (rule
    // 11); otherwise by the recorded text.
    const std::string key = k == 0 && ids.contains("media") && ids["media"].is_array() && !ids["media"].empty()
                                ? str(ids["media"][0], "key")
                                : std::string();
    std::string hit;
    for (const auto& p : timeline) {
      const std::string id = str(p, "id");
      if (id.empty() || contains(posts, id)) continue;
      if (!key.empty()) {
        const json keys = p.contains("attachments") && p["attachments"].is_object()
                              ? p["attachments"].value("media_keys", json::array())
                              : json::array();
        if (!contains(keys, key)) continue;
      } else if (str(p, "text") != texts[k]) {
        continue;
      }
      if (!parent.empty()) {
        bool replies = false;
        if (p.contains("referenced_tweets") && p["referenced_tweets"].is_array())
          for (const auto& r : p["referenced_tweets"])
            replies = replies || (str(r, "type") == "replied_to" && str(r, "id") == parent);
        if (!replies) continue;
      }
      hit = id;
      break;
    }
    if (hit.empty()) return;
    posts.push_back(hit);
  }
}

net::awaitable<jobs::Existence> XPublishSteps::find_existing(jobs::JobContext& job, json& ids) {
  if (!job.job().post) co_return jobs::Existence::unknown;
  const auto texts = post_texts(job.job());
  json posts = ids.contains("posts") && ids["posts"].is_array() ? ids["posts"] : json::array();
  if (posts.size() >= texts.size()) co_return jobs::Existence::found;
  const auto timeline = co_await recent_posts(job, ids);
  if (!timeline.posts) {
    // Not now (a limit, an outage, a token being renewed): ask again later. A refusal that asking
    // again cannot change leaves it to a person.
    const auto kind = timeline.failure ? timeline.failure->kind : Outcome::Kind::retry;
    co_return kind == Outcome::Kind::defer || kind == Outcome::Kind::retry ? jobs::Existence::not_now
                                                                           : jobs::Existence::unknown;
  }
  const std::size_t before = posts.size();
  match(job, ids, texts, *timeline.posts, posts);
  if (posts.size() > before) {
    ids["posts"] = posts;
    ids["published_id"] = posts[0];
    job.log().info("{} post(s) of an earlier attempt found on X", posts.size() - before);
  }
  if (posts.size() >= texts.size()) {
    ids.erase("unknown_index");
    co_return jobs::Existence::found;
  }
  ids["unknown_index"] = static_cast<int>(posts.size());
  // A post with text is safe to send again: X refuses the same text twice ("duplicate"), which after
  // this is evidence the post exists. A media-only post has no such guard: unless the timeline went
  // back far enough to be sure, a person decides.
  if (texts[posts.size()].empty() && timeline.full) co_return jobs::Existence::unknown;
  co_return jobs::Existence::not_found;
}

}  // namespace schedulo::x
