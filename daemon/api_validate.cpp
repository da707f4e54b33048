// Validate-only's checks beyond the schema: is the account connected with the scopes the job
// needs, and does each media URL serve a file the platform accepts (type, size, dimensions,
// duration). Bounded by http.validate_media_timeout_ms: what cannot be fetched in time is a
// warning ("not checked"), not a problem, so the route still answers within a second.
//
// Accounts: read from the token store's record (queue::Keys::token: fields `status` and `scopes`,
// comma or space separated). A missing record means the account was never connected: an error on a
// live daemon, a warning in noop mode, where no job needs a token.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "common/deadline.hpp"
#include "daemon/api_server.hpp"
#include "platforms/http/client.hpp"
#include "platforms/http/media_info.hpp"
#include "platforms/http/media_limits.hpp"
#include "platforms/http/staging.hpp"
#include "queue/store.hpp"

namespace schedulo::daemon {
namespace {

using jobs::ValidationError;

constexpr std::uint64_t kMaxValidateBytes = std::uint64_t{1} << 30;

// Scopes each kind of job needs (platform-apis.md 1.1, 2.3-2.8, 3, 4). Any one of a group will do.
std::vector<std::vector<std::string>> required_scopes(const jobs::Job& job) {
  using jobs::JobType;
  using jobs::Platform;
  const bool publish = job.type == JobType::publish;
  const bool analytics = job.type == JobType::fetch_analytics;
  switch (job.platform) {
    case Platform::instagram:
      if (publish) return {{"instagram_content_publish", "instagram_business_content_publish"}};
      if (analytics) return {{"instagram_manage_insights", "instagram_business_manage_insights"}};
      return {};
    case Platform::facebook:
      if (publish) return {{"pages_manage_posts"}};
      if (analytics) return {{"read_insights"}};
      return {};
    case Platform::tiktok:
      if (publish) {
        const bool inbox = job.post && job.post->options.is_object() && job.post->options.value("mode", "") == "inbox";
        return {{inbox ? "video.upload" : "video.publish"}};
      }
      if (analytics) return {{"video.list"}};
      return {};
    case Platform::x:
      if (publish) {
        std::vector<std::vector<std::string>> need{{"tweet.write"}};
        if (job.post && !job.post->media.empty()) need.push_back({"media.write"});
        return need;
      }
      if (analytics) return {{"tweet.read"}};
      return {};
  }
  return {};
}

std::set<std::string> split_scopes(const std::string& text) {
  std::set<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ',' || c == ' ') {
      if (!cur.empty()) out.insert(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.insert(cur);
  return out;
}

net::awaitable<void> check_account(const jobs::Job& job, queue::Store& store, bool required,
                                   std::vector<ValidationError>& errors, std::vector<ValidationError>& warnings) {
  const std::string key = store.keys().token(jobs::to_string(job.platform), job.account);
  auto reply = co_await store.client().exec("HGETALL", key);
  if (!reply || !reply->is_array()) {
    warnings.push_back({"account", "not_checked", "the account could not be looked up (Redis did not answer)"});
    co_return;
  }
  std::map<std::string, std::string> record;
  for (std::size_t i = 0; i + 1 < reply->elements.size(); i += 2)
    record[reply->elements[i].str] = reply->elements[i + 1].str;
  if (record.empty() && required) {
    errors.push_back({"account", "account_not_connected",
                      "no tokens are stored for this account: the user must connect it (or an operator import "
                      "its tokens with 'schedulo account add') before posting"});
    co_return;
  }
  if (record.empty()) {
    warnings.push_back(
        {"account", "not_checked",
         "no token record for this account in the daemon's store yet; connection and scopes not checked"});
    co_return;
  }
  const std::string status = record.count("status") ? record["status"] : "active";
  if (status == "needs_reauth" || status == "revoked") {
    errors.push_back({"account", "account_not_connected",
                      "account is " + status + ": the user must connect it again before posting"});
    co_return;
  }
  if (job.type == jobs::JobType::revoke_token || job.type == jobs::JobType::refresh_token) co_return;
  const auto have = split_scopes(record.count("scopes") ? record["scopes"] : "");
  for (const auto& group : required_scopes(job)) {
    const bool ok = std::any_of(group.begin(), group.end(), [&](const std::string& s) { return have.count(s) != 0; });
    if (!ok)
      errors.push_back({"account", "missing_scope",
                        "the account has not granted " + group.front() + ", which this job needs; connect it again"});
  }
}

std::string as_option(const jobs::Job& job) {
  if (!job.post || !job.post->options.is_object()) return {};
  return job.post->options.value("as", "");
}

net::awaitable<void> check_one_media(const jobs::Job& job, std::size_t index, http::HttpClient& client,
                                     std::chrono::milliseconds timeout, std::vector<ValidationError>& errors,
                                     std::vector<ValidationError>& warnings) {
  const auto& media = job.post->media[index];
  const std::string field = "post.media[" + std::to_string(index) + "].url";
  std::string path = "/tmp/schedulo-validate-XXXXXX";
  const int fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) {
    warnings.push_back({field, "not_checked", "the media could not be checked (no temporary file)"});
    co_return;
  }
  http::StagedMedia file(path, fd);  // removed when this returns
  ::fchmod(fd, S_IRUSR | S_IWUSR);
  http::DownloadOptions options;
  options.max_bytes = kMaxValidateBytes;
  options.timeouts.connect = options.timeouts.send = options.timeouts.headers = options.timeouts.body =
      options.timeouts.total = timeout;
  auto response = co_await client.download(media.url, fd, options);
  if (!response) {
    const auto& e = response.error();
    if (e.kind == http::ErrorKind::timeout || e.kind == http::ErrorKind::cancelled)
      warnings.push_back({field, "not_checked", "the media did not finish downloading in time; not checked"});
    else if (e.permanent())
      errors.push_back({field, "media_unreachable", "the media cannot be fetched: " + e.message});
    else
      warnings.push_back({field, "not_checked", "the media could not be fetched now: " + e.message});
    co_return;
  }
  auto info = http::inspect_media(http::FileReader(fd));
  if (!info) {
    errors.push_back({field, "bad_media", info.error().message});
    co_return;
  }
  const std::string kind(jobs::to_string(media.kind));
  if (http::is_video(info->type) != (media.kind == jobs::MediaKind::video))
    errors.push_back(
        {field, "wrong_kind",
         "the file is " + std::string(http::to_string(info->type)) + " but the job says it is an " + kind});
  const auto target = http::media_target(jobs::to_string(job.platform), kind, as_option(job), info->type);
  if (!target) co_return;
  if (auto broken = http::check_media(*target, *info)) errors.push_back({field, "media_rejected", broken->message});
}

}  // namespace

net::awaitable<void> deep_check(const jobs::Job& job, DeepCheckContext& context, std::vector<ValidationError>& errors,
                                std::vector<ValidationError>& warnings) {
  co_await check_account(job, context.store, context.accounts_required, errors, warnings);
  if (!job.post || job.post->media.empty()) co_return;
  if (!context.media_client || context.media_timeout.count() == 0) {
    warnings.push_back({"post.media", "not_checked", "media checks are off on this daemon"});
    co_return;
  }
  // One after another within the shared budget: a carousel of ten gets the same second as one image.
  const auto deadline = std::chrono::steady_clock::now() + context.media_timeout;
  for (std::size_t i = 0; i < job.post->media.size(); ++i) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      warnings.push_back(
          {"post.media[" + std::to_string(i) + "].url", "not_checked", "no time left to check this media"});
      continue;
    }
    co_await check_one_media(job, i, *context.media_client, left, errors, warnings);
  }
}

}  // namespace schedulo::daemon
