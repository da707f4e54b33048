#include "daemon/config_schema.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>

#include "outbox/records.hpp"
#include "platforms/http/address_policy.hpp"
#include "platforms/http/url.hpp"
#include "queue/rate_limiter.hpp"
#include "queue/redis/redis_url.hpp"

namespace schedulo::daemon {
namespace {

using json = nlohmann::json;
using Check = std::function<std::optional<std::string>(const json&)>;

Check redis_url() {
  return [](const json& v) -> std::optional<std::string> {
    std::string error;
    if (!redis::parse_redis_url(v.get<std::string>(), error)) return "not a valid Redis URL: " + error;
    return std::nullopt;
  };
}

// An http(s) URL, or empty when the key is optional.
Check http_url(bool optional) {
  return [optional](const json& v) -> std::optional<std::string> {
    const auto s = v.get<std::string>();
    if (s.empty()) return optional ? std::nullopt : std::optional<std::string>("must not be empty");
    if (!s.starts_with("http://") && !s.starts_with("https://")) return "must be an http:// or https:// URL";
    auto parsed = http::parse_url(s);
    if (!parsed.url) return "not a valid URL: " + parsed.error;
    return std::nullopt;
  };
}

Check matches(const char* pattern, std::string what, bool optional = false) {
  return [re = std::regex(pattern), what = std::move(what), optional](const json& v) -> std::optional<std::string> {
    const auto s = v.get<std::string>();
    if (optional && s.empty()) return std::nullopt;
    if (!std::regex_match(s, re)) return "must be " + what;
    return std::nullopt;
  };
}

Check int_range(long long lo, long long hi) {
  return [lo, hi](const json& v) -> std::optional<std::string> {
    const auto n = v.get<long long>();
    if (n < lo || n > hi) return "must be from " + std::to_string(lo) + " to " + std::to_string(hi);
    return std::nullopt;
  };
}

Check one_of(std::vector<std::string> values) {
  return [values = std::move(values)](const json& v) -> std::optional<std::string> {
    const auto s = v.get<std::string>();
    for (const auto& allowed : values)
      if (s == allowed) return std::nullopt;
    std::string list;
    for (const auto& allowed : values) list += (list.empty() ? "" : ", ") + allowed;
    return "must be one of: " + list;
  };
}

Check readable_file(bool optional) {
  return [optional](const json& v) -> std::optional<std::string> {
    const auto s = v.get<std::string>();
    if (s.empty()) return optional ? std::nullopt : std::optional<std::string>("must name a file");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(s, ec)) return "no such file: " + s;
    return std::nullopt;
  };
}

Check min_length(std::size_t n) {
  return [n](const json& v) -> std::optional<std::string> {
    const auto s = v.get<std::string>();
    if (!s.empty() && s.size() < n) return "is too short: use at least " + std::to_string(n) + " characters";
    return std::nullopt;
  };
}

// Keys that share a path ("platforms.instagram.") next to each other, in the order their first key
// was added, so the printed example holds one object per path whichever block added a key. Otherwise
// the order is the order of adding.
void group_by_path(std::vector<Setting>& settings) {
  std::map<std::string, std::size_t> first_seen;  // path prefix -> index of the first key under it
  std::vector<std::vector<std::size_t>> rank(settings.size());
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const std::string& key = settings[i].key;
    for (std::size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', dot + 1))
      rank[i].push_back(first_seen.emplace(key.substr(0, dot + 1), i).first->second);
    rank[i].push_back(i);
  }
  std::vector<std::size_t> order(settings.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rank[a] < rank[b]; });
  std::vector<Setting> sorted;
  sorted.reserve(settings.size());
  for (const auto i : order) sorted.push_back(std::move(settings[i]));
  settings = std::move(sorted);
}

std::vector<Setting> build() {
  std::vector<Setting> s;
  auto add = [&](std::string key, Kind kind, json def, std::string help, Check check = {}, bool secret = false,
                 json example = nullptr) {
    s.push_back(Setting{std::move(key), kind, std::move(def), secret, std::move(help), std::move(check),
                        std::move(example)});
  };
  add("redis.url", Kind::string, "redis://127.0.0.1:6379/0",
      "Where Redis is: redis://[user:password@]host:port/db, rediss:// for TLS, or "
      "redis-sentinel://host:26379,host:26379/master[/db] to follow a Sentinel-managed primary.",
      redis_url());
  add("redis.password", Kind::string, "", "Redis password; overrides one in redis.url. Secret.", {}, true);
  add("redis.prefix", Kind::string, "schedulo",
      "Prefix of every key: one per deployment or Bubble environment (the inbox is <prefix>:inbox).",
      matches("[A-Za-z0-9_.:-]{1,64}", "1 to 64 of A-Z a-z 0-9 _ . : -"));
  add("redis.connect_timeout_ms", Kind::integer, 3000, "Deadline of one connection attempt.", int_range(100, 60000));
  add("redis.command_timeout_ms", Kind::integer, 5000, "Deadline of one command, from call to reply.",
      int_range(100, 300000));
  add("redis.require_durability", Kind::boolean, true,
      "Refuse to start unless Redis has appendonly yes and maxmemory-policy noeviction.");
  add("http.listen", Kind::string, "", "host:port of the HTTP API; empty turns it off.",
      matches(R"((\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5})", "host:port, e.g. 127.0.0.1:8080", true),
      false, "127.0.0.1:8080");
  add("http.token", Kind::string, "", "Bearer token every API caller must send. Secret.", min_length(16), true);
  add("http.public_url", Kind::string, "",
      "How browsers and platforms reach this daemon; OAuth redirect URIs are built from it.", http_url(true),
      false, "https://schedulo.example.com");
  // HTTP API limits (issue 14)
  add("http.body_limit_bytes", Kind::integer, 1048576, "Largest request body the API reads; larger gets 413.",
      int_range(1024, 64 * 1024 * 1024));
  add("http.read_timeout_ms", Kind::integer, 10000,
      "A request must arrive whole within this (slow or idle clients are cut off).", int_range(100, 600000));
  add("http.handler_timeout_ms", Kind::integer, 900,
      "A route that has not answered within this gets 503 (Bubble needs answers well inside its 150 s).",
      int_range(50, 60000));
  add("http.max_batch", Kind::integer, 500, "Most jobs one POST /v1/jobs may carry.", int_range(1, 10000));
  add("http.public_metrics", Kind::boolean, true, "Serve /metrics without the Bearer token.");
  add("http.health_max_lag_ms", Kind::integer, 60000,
      "/healthz answers 503 when the oldest due job has waited longer than this.", int_range(1000, 86400000));
  add("http.validate_media_timeout_ms", Kind::integer, 700,
      "How long validate-only may spend fetching and inspecting media; what does not finish is reported "
      "as unchecked, not as a problem.",
      int_range(0, 60000));
  add("airtable.base_url", Kind::string, "https://api.airtable.com", "Airtable API root.", http_url(false));
  add("airtable.base_id", Kind::string, "", "The base holding the Accounts, Posts, Analytics and Events tables.",
      matches("app[A-Za-z0-9]{14}", "an Airtable base id (app + 14 letters or digits)", true), false,
      "appXXXXXXXXXXXXXX");
  add("airtable.token", Kind::string, "", "Airtable personal access token. Secret.", {}, true);
  add("airtable.tables.accounts", Kind::string, "Accounts", "Table of connected accounts and their tokens.");
  add("airtable.tables.posts", Kind::string, "Posts", "Table of posts and their publish outcome.");
  add("airtable.tables.analytics", Kind::string, "Analytics", "Table of the latest metrics per post.");
  add("airtable.tables.events", Kind::string, "Events", "Table of errors and notifications.");
  add("airtable.requests_per_second", Kind::number, 3,
      "This daemon fleet's share of the base's 5 requests/s (the Bubble app uses the rest).",
      [](const json& v) -> std::optional<std::string> {
        const double d = v.get<double>();
        if (!(d > 0 && d <= 5)) return "must be more than 0 and at most 5 (Airtable's limit per base)";
        return std::nullopt;
      });
  add("airtable.monthly_call_budget", Kind::integer, 0,
      "Calls this daemon may spend per month (Free plan: 1000); 0 means no budget is enforced.",
      int_range(0, 100000000));
  // ---- issue 7: the writer, the budget, follow-ups and the account cache (docs/airtable.md) ----
  add("airtable.writeback", Kind::boolean, true,
      "Write job outcomes to the Airtable tables (needs airtable.base_id and airtable.token; without them nothing "
      "is recorded for Airtable).");
  add("airtable.budget_warn_percent", Kind::integer, 80,
      "An Events row when this share of airtable.monthly_call_budget is used.", int_range(1, 100));
  add("airtable.budget_reserve_percent", Kind::integer, 10,
      "The last share of airtable.monthly_call_budget kept for Posts, Accounts and Events (Analytics wait).",
      int_range(0, 90));
  add("airtable.writers", Kind::integer, 2, "Batches this daemon writes to Airtable at once.", int_range(1, 16));
  add("airtable.batch_linger_ms", Kind::integer, 500,
      "How long fewer than 10 pending rows wait for more before they are written as a partial batch.",
      int_range(0, 60000));
  add("airtable.analytics_followups", Kind::string_list, json::array({"1h", "24h", "7d"}),
      "fetch_analytics jobs after a successful publish, this long after it (s, m, h or d); empty for none.",
      [](const json& v) -> std::optional<std::string> {
        for (std::size_t i = 0; i < v.size(); ++i)
          if (!outbox::parse_offset(v[i].get<std::string>()))
            return "entry " + std::to_string(i) + " must be a number followed by s, m, h or d (e.g. 24h)";
        return std::nullopt;
      });
  add("airtable.analytics_history", Kind::integer, 30,
      "Lines of metrics history kept in an Analytics row's History field.", int_range(1, 1000));
  add("airtable.account_cache_ttl_s", Kind::integer, 7 * 24 * 3600,
      "How long an Accounts row read from Airtable stays cached in Redis (sweeps renew it).",
      int_range(60, 365LL * 24 * 3600));
  add("airtable.account_sweep_interval_s", Kind::integer, 6 * 3600,
      "How often one daemon of the fleet re-reads the whole Accounts table into the cache; 0 turns it off.",
      int_range(0, 30LL * 24 * 3600));
  struct PlatformDefaults {
    const char* name;
    const char* base;
    const char* auth;
    const char* upload;
  };
  // ---- facebook (issue 10) ----: added right after platforms.facebook.client_secret, since the
  // printed example nests keys in schema order (one "facebook" object).
  const auto facebook_keys = [&] {
    add("platforms.facebook.video_transfer", Kind::string, "auto",
        "How videos and reels reach Facebook: file_url (Facebook fetches the job's URL), upload (the daemon downloads "
        "the file and sends it: transfer phases for videos, rupload for reels; the video id is known before "
        "publishing), or auto (upload when the media host is not a public address, file_url otherwise).",
        one_of({"auto", "file_url", "upload"}));
    add("platforms.facebook.status_poll_ms", Kind::integer, 10000,
        "How long a job waits (worker freed) between reads of a Facebook video or reel that is still processing.",
        int_range(100, 3600000));
    add("platforms.facebook.reconnect_ahead_days", Kind::integer, 7,
        "The account is marked expiring, with an Events row asking the user to reconnect, this many days before "
        "Facebook's data access for it ends (debug_token's data_access_expires_at).",
        int_range(0, 90));
  };
  for (const auto& p : {PlatformDefaults{"instagram", "https://graph.facebook.com/v25.0",
                                         "https://www.facebook.com/v25.0/dialog/oauth",
                                         "https://rupload.facebook.com"},
                        PlatformDefaults{"facebook", "https://graph.facebook.com/v25.0",
                                         "https://www.facebook.com/v25.0/dialog/oauth",
                                         "https://graph-video.facebook.com/v25.0"},
                        PlatformDefaults{"tiktok", "https://open.tiktokapis.com",
                                         "https://www.tiktok.com/v2/auth/authorize/", "https://open-upload.tiktokapis.com"},
                        PlatformDefaults{"x", "https://api.x.com", "https://x.com/i/oauth2/authorize",
                                         "https://api.x.com"}}) {
    const std::string k = std::string("platforms.") + p.name;
    add(k + ".base_url", Kind::string, p.base, std::string("API root for ") + p.name + ".", http_url(false));
    add(k + ".auth_url", Kind::string, p.auth, "OAuth consent page.", http_url(false));
    add(k + ".upload_url", Kind::string, p.upload, "Media upload host.", http_url(false));
    add(k + ".client_id", Kind::string, "", "OAuth client id (app id / client key).");
    add(k + ".client_secret", Kind::string, "", "OAuth client secret. Secret.", {}, true);
    if (std::string_view(p.name) == "facebook") facebook_keys();
  }
  // X (issue 12)
  add("platforms.x.upload_chunk_bytes", Kind::integer, 1048576,
      "Size of one media upload segment sent to X (X takes at most 5 MB per segment).",
      int_range(1024, 5 * 1024 * 1024));
  add("platforms.x.inline_wait_ms", Kind::integer, 2000,
      "X media processing that asks for a longer wait than this ends the attempt `waiting` (the worker is "
      "freed); shorter waits are slept.",
      int_range(0, 60000));
  add("platforms.x.reconcile_posts", Kind::integer, 100,
      "How many of the account's recent posts are searched to settle a publish whose outcome was lost.",
      int_range(5, 100));
  add("platforms.x.text_limit", Kind::integer, 280,
      "Longest X post in weighted characters (280; 25000 for Premium accounts).", int_range(1, 25000));
  add("bubble.api_token", Kind::string, "", "Bearer token for calls to the Bubble app's backend workflows. Secret.",
      {}, true);
  add("bubble.callback_hosts", Kind::string_list, json::array(),
      "Hosts a job's callback_url may name (e.g. myapp.bubbleapps.io).",
      [](const json& v) -> std::optional<std::string> {
        static const std::regex host("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");
        for (std::size_t i = 0; i < v.size(); ++i)
          if (!std::regex_match(v[i].get<std::string>(), host))
            return "entry " + std::to_string(i) + " is not a host name";
        return std::nullopt;
      },
      false, json::array({"myapp.bubbleapps.io"}));
  // Callbacks (issue 14)
  add("bubble.callback_signing_secret", Kind::string, "",
      "HMAC-SHA256 key of the X-Schedulo-Signature header on callbacks; empty uses bubble.api_token. Secret.",
      {}, true);
  add("bubble.callback_timeout_ms", Kind::integer, 10000, "Deadline of one callback request.",
      int_range(100, 120000));
  add("bubble.callback_max_attempts", Kind::integer, 8,
      "Deliveries of one callback before it goes to the dead outbox.", int_range(1, 100));
  add("bubble.callback_retry_base_ms", Kind::integer, 1000, "First callback retry delay; doubles each time.",
      int_range(10, 3600000));
  add("bubble.callback_retry_cap_ms", Kind::integer, 300000, "Largest callback retry delay.",
      int_range(10, 86400000));
  add("security.allow_private_hosts", Kind::string_list, json::array(),
      "Hosts, addresses or CIDR ranges exempt from the refusal of private and loopback addresses.",
      [](const json& v) -> std::optional<std::string> {
        auto policy = http::AddressPolicy::from_entries(v.get<std::vector<std::string>>(), "entry ");
        if (!policy.policy) return policy.error;
        return std::nullopt;
      });
  add("vault.key_file", Kind::string, "",
      "File of token-encryption keys (or a systemd credential named vault.key_file): one \"<key id> <base64 of 32 "
      "bytes>\" per line, the first sealing new values (schedulo vault keygen prints one).",
      {}, false, "/etc/schedulo/vault.keys");
  add("workers.concurrency", Kind::integer, 32, "Jobs one daemon runs at once.", int_range(1, 4096));
  add("workers.id", Kind::string, "",
      "This daemon's identity; empty means the host name. Unique per running daemon: a daemon that restarts "
      "with the same id takes back the jobs its previous run held at once.",
      matches("[A-Za-z0-9_.:-]{0,64}", "up to 64 of A-Z a-z 0-9 _ . : -", true));
  add("workers.mode", Kind::string, "live",
      "live runs the platform adapters; noop completes every job at once without leaving the process (tests, "
      "benchmarks, trying the queue).",
      one_of({"live", "noop"}));
  add("workers.noop_delay_ms", Kind::integer, 0,
      "In noop mode, how long each job takes (the publish upload step, or the one call of the other types), "
      "so tests can catch jobs in flight; 0 completes them at once.",
      int_range(0, 3600000));
  add("workers.per_platform", Kind::integer, 32, "Jobs of one platform one daemon runs at once.", int_range(1, 4096));
  add("workers.per_account", Kind::integer, 3,
      "Jobs of one account running at once in the whole fleet; 0 means no limit.", int_range(0, 1000));
  add("workers.lease_ms", Kind::integer, 30000,
      "How long a job's lease lasts between heartbeats; a crashed daemon's jobs return after this.",
      int_range(1000, 3600000));
  add("workers.shutdown_grace_ms", Kind::integer, 25000,
      "On SIGTERM, how long jobs in flight may finish before they are handed back.", int_range(0, 3600000));
  add("workers.idle_wait_ms", Kind::integer, 250,
      "Longest idle sleep; jobs other daemons queue are seen within it (the inbox wakes a daemon at once).",
      int_range(10, 60000));
  add("workers.reaper_grace_ms", Kind::integer, 30000,
      "How long Redis must have been reachable before this daemon takes back other daemons' expired leases.",
      int_range(0, 3600000));
  add("tls.ca_file", Kind::string, "", "Extra trust anchors (PEM), e.g. the sandbox's CA.", readable_file(true));
  add("log.format", Kind::string, "text", "text or json (one JSON object per line).", one_of({"text", "json"}));
  add("log.level", Kind::string, "info", "trace, debug, info, warn, error or off.",
      one_of({"trace", "debug", "info", "warn", "error", "off"}));
  add("jobs.max_attempts", Kind::integer, 5, "Attempts a job gets unless it says otherwise.", int_range(1, 25));
  add("jobs.max_job_bytes", Kind::integer, 65536, "Largest job JSON accepted.", int_range(1024, 1048576));
  add("jobs.retention_s", Kind::integer, 7 * 24 * 3600,
      "How long finished jobs stay readable (dead and needs_review ones stay until purged).",
      int_range(60, 365LL * 24 * 3600));
  add("jobs.idempotency_window_s", Kind::integer, 30 * 24 * 3600,
      "How long a job id stays a duplicate after its job ended (at least the retention).",
      int_range(60, 3650LL * 24 * 3600));
  add("jobs.retry_base_ms", Kind::integer, 5000, "First retry back-off ceiling (doubles per attempt).",
      int_range(1, 3600000));
  add("jobs.retry_cap_ms", Kind::integer, 3600000, "Largest retry back-off.", int_range(1, 86400000));
  // ---- rate limits, circuit breakers, notifications (issue 5) ----
  add("limits.max_wait_ms", Kind::integer, 5000,
      "A call that would wait longer than this for a rate limit (or an open circuit) is deferred to its time "
      "instead of holding a worker; shorter waits are slept.",
      int_range(0, 600000));
  add("limits.margin_ms", Kind::integer, 20,
      "Added to every rate-limit period so requests that travel at uneven speeds still arrive within the "
      "platform's window (costs margin/period of a budget).",
      int_range(0, 10000));
  add(
      "limits.rules", Kind::string_list, json::array(),
      "Static rate limits added to or replacing the defaults: platform:scope:name=LIMIT/PERIOD[+BURST], scope "
      "app, account or endpoint, PERIOD like 500ms, 1s, 15m, 24h.",
      [](const json& v) -> std::optional<std::string> {
        queue::LimitTable table;
        for (std::size_t i = 0; i < v.size(); ++i) {
          std::string error;
          if (!table.add_rule(v[i].get<std::string>(), error)) return "entry " + std::to_string(i) + ": " + error;
        }
        return std::nullopt;
      },
      false, json::array({"x:account:tweets_create=100/15m", "tiktok:account:video_init=6/1m+1"}));
  add("limits.usage_slow_from_percent", Kind::integer, 75,
      "Meta usage headers: from this percentage on, calls are spaced further apart the nearer usage is to 100.",
      int_range(1, 99));
  add("limits.usage_spacing_ms", Kind::integer, 1000,
      "Meta usage headers: the spacing halfway between the slow-down point and 100 % (it grows without bound "
      "towards 100).",
      int_range(1, 3600000));
  add("limits.usage_stop_ms", Kind::integer, 60000,
      "Meta usage at 100 % without an estimated_time_to_regain_access: how long calls stop.",
      int_range(1000, 86400000));
  add("breaker.failure_threshold", Kind::integer, 5, "Consecutive failed calls that open a platform's circuit.",
      int_range(1, 1000));
  add("breaker.window_ms", Kind::integer, 60000, "Window of the error-rate rule.", int_range(1000, 3600000));
  add("breaker.min_calls", Kind::integer, 20, "Calls in the window before the error rate can open the circuit.",
      int_range(1, 100000));
  add("breaker.failure_rate_percent", Kind::integer, 50, "Error rate in the window that opens the circuit.",
      int_range(1, 100));
  add("breaker.open_ms", Kind::integer, 30000,
      "How long an opened circuit defers the platform's jobs before one probes; doubles after each failed probe.",
      int_range(100, 3600000));
  add("breaker.max_open_ms", Kind::integer, 300000, "Longest an open circuit waits between probes.",
      int_range(100, 86400000));
  add("breaker.probe_timeout_ms", Kind::integer, 60000,
      "How long a half-open probe is awaited before another caller may probe.", int_range(1000, 3600000));
  add("notifications.window_s", Kind::integer, 3600,
      "At most one notification per kind and account (or platform) in this window, fleet-wide.",
      int_range(1, 30LL * 24 * 3600));
  add("notifications.airtable_unreachable_after_ms", Kind::integer, 600000,
      "Airtable unreachable for longer than this becomes a notification.", int_range(1000, 86400000));
  // ---- token core (tokens/) ----
  add("tokens.refresh_timeout_ms", Kind::integer, 15000, "Deadline of one token refresh call to a platform.",
      int_range(500, 300000));
  add("tokens.lock_ms", Kind::integer, 30000,
      "How long one daemon's refresh lock on an account lasts unless released (at least "
      "tokens.refresh_timeout_ms + 1 s is used); a crashed daemon's lock frees after it.",
      int_range(1000, 600000));
  add("tokens.defer_ms", Kind::integer, 1000,
      "How long a job that needs a token another daemon is renewing waits before it looks again (deferred: no "
      "attempt used, no worker held).",
      int_range(10, 60000));
  // ---- Instagram (issue 9; platforms/instagram) ----
  add("platforms.instagram.login_base_url", Kind::string, "https://graph.instagram.com/v25.0",
      "API root for accounts connected with Instagram Login (graph.instagram.com, versioned); its token refresh "
      "uses the same host without the version.",
      http_url(false));
  add("platforms.instagram.video_upload", Kind::string, "auto",
      "How videos reach Instagram: auto sends video_url when the media URL's host is public and uploads the file "
      "(resumable rupload, Facebook Login only) otherwise; url always sends video_url; rupload always uploads.",
      one_of({"auto", "url", "rupload"}));
  add("platforms.instagram.poll_interval_ms", Kind::integer, 30000,
      "How long a publish job waits (holding no worker) between two reads of a container Instagram is still "
      "processing, or after a 9007 'not ready' answer.",
      int_range(10, 600000));
  add("platforms.instagram.container_timeout_ms", Kind::integer, 1800000,
      "A container still not ready this long after its first poll fails the job (container_timeout).",
      int_range(1000, 86400000));
  add("platforms.instagram.quota_recheck_ms", Kind::integer, 900000,
      "When the account's publishing quota (content_publishing_limit) is used up, the job is deferred this long "
      "before the quota is read again.",
      int_range(10, 86400000));
  add("platforms.instagram.refresh_margin_ms", Kind::integer, 7LL * 24 * 3600 * 1000,
      "An Instagram Login token (60 days) is renewed with ig_refresh_token once it expires within this margin.",
      int_range(60000, 59LL * 24 * 3600 * 1000));
  add("platforms.instagram.reconnect_warning_ms", Kind::integer, 7LL * 24 * 3600 * 1000,
      "A Facebook Login account whose data access (debug_token's data_access_expires_at) ends within this is "
      "notified needs_reconnect by its refresh_token job.",
      int_range(0, 90LL * 24 * 3600 * 1000));
  add("platforms.instagram.rupload_chunk_bytes", Kind::integer, 8LL << 20,
      "Largest body of one resumable upload request; a longer video goes up in several, each from the offset the "
      "last one reached.",
      int_range(1024, 1LL << 30));
  // ---- token lifecycle (issue 13): the OAuth connect flow and the sweep ----
  add(
      "oauth.return_to_allow", Kind::string_list, json::array(),
      "Pages a connect flow may send the browser back to (return_to): each an http(s) URL; a return_to must be one "
      "of them or below one (same scheme, host and port; the path continues at a '/'). Empty: no connect flow "
      "can start.",
      [](const json& v) -> std::optional<std::string> {
        for (std::size_t i = 0; i < v.size(); ++i) {
          const auto entry = v[i].get<std::string>();
          if (!entry.starts_with("http://") && !entry.starts_with("https://"))
            return "entry " + std::to_string(i) + " must be an http:// or https:// URL";
          if (auto parsed = http::parse_url(entry); !parsed.url)
            return "entry " + std::to_string(i) + " is not a valid URL: " + parsed.error;
        }
        return std::nullopt;
      },
      false, json::array({"https://myapp.bubbleapps.io/connected"}));
  add("oauth.state_ttl_s", Kind::integer, 600,
      "How long a connect flow's state lasts between the start and the platform's redirect back.", int_range(30, 3600));
  add("oauth.state_secret", Kind::string, "",
      "Key of the HMAC that signs connect states (a forged state is refused before Redis is asked); empty: "
      "http.token. Secret.",
      min_length(16), true);
  add("oauth.pending_ttl_s", Kind::integer, 900,
      "How long a Meta login that reaches several Pages / Instagram accounts waits for the user's choice.",
      int_range(60, 86400));
  add("oauth.exchange_timeout_ms", Kind::integer, 10000,
      "Deadline of each call of the code exchange (token, long-lived token, permissions, Pages).",
      int_range(500, 60000));
  add("sweep.interval_s", Kind::integer, 300,
      "How often the fleet's sweep leader looks at the tokens due for attention; 0: only `schedulo sweep`.",
      int_range(0, 86400));
  add("sweep.refresh_ahead_s", Kind::integer, 7 * 24 * 3600,
      "Access tokens that renew themselves (Instagram Login, 60 days) are renewed this long before they expire.",
      int_range(3600, 59LL * 24 * 3600));
  add("sweep.short_lived_s", Kind::integer, 24 * 3600,
      "Access tokens expiring sooner than this (X, TikTok: 2 h) are renewed on use, not by the sweep.",
      int_range(0, 7LL * 24 * 3600));
  add("sweep.refresh_token_ahead_s", Kind::integer, 14 * 24 * 3600,
      "Refresh tokens with their own expiry (TikTok: 180 days) are rotated this long before it.",
      int_range(3600, 179LL * 24 * 3600));
  add("sweep.expiring_notice_s", Kind::integer, 7 * 24 * 3600,
      "A token nothing can renew, or a Page's data access, ending within this gets a token_expiring notice.",
      int_range(3600, 90LL * 24 * 3600));
  add("sweep.posts_ahead_s", Kind::integer, 3600,
      "Accounts with a publish job due within this get a fresh access token ahead of it.", int_range(0, 86400));
  add("sweep.post_margin_s", Kind::integer, 900,
      "... when their access token would expire before the post's time plus this.", int_range(0, 86400));
  add("sweep.check_every_s", Kind::integer, 24 * 3600,
      "How often each Page token (no expiry of its own) is introspected (validity, data_access_expires_at).",
      int_range(300, 30LL * 24 * 3600));
  add("sweep.batch", Kind::integer, 500, "Most accounts one sweep pass takes from each index.", int_range(1, 100000));
  // The notifications' webhook (issue 13)
  add("notifications.webhook_url", Kind::string, "",
      "Each notification (needs_reauth, token_expiring, reconnected, job_dead, ...) is also POSTed here, signed "
      "and retried like a job callback, besides its Events row; its host must be in bubble.callback_hosts. Empty: "
      "Events rows only.",
      http_url(true));
  // Instagram Login's connect flow (issue 13, route /v1/oauth/instagram-login/...)
  add("platforms.instagram.login_auth_url", Kind::string, "https://www.instagram.com/oauth/authorize",
      "Instagram Login's consent page (the connect flow of accounts without a Facebook Page).", http_url(false));
  add("platforms.instagram.login_token_url", Kind::string, "https://api.instagram.com/oauth/access_token",
      "Instagram Login's code exchange (a short-lived token, then exchanged on platforms.instagram.login_base_url).",
      http_url(false));
  add("platforms.instagram.login_client_id", Kind::string, "",
      "The Instagram app id of Instagram Login; empty uses platforms.instagram.client_id. With neither, the "
      "instagram-login connect routes answer 404.");
  add("platforms.instagram.login_client_secret", Kind::string, "",
      "The Instagram app secret of Instagram Login; empty uses platforms.instagram.client_secret. Secret.", {}, true);
  // ---- tiktok (issue 11, platforms/tiktok) ----
  add("platforms.tiktok.verified_prefixes", Kind::string_list, json::array(),
      "Media URL prefixes verified with TikTok (e.g. https://media.example.com/): a video under one is posted "
      "by PULL_FROM_URL (unless the job asks for an upload), photos must be under one.",
      [](const json& v) -> std::optional<std::string> {
        for (std::size_t i = 0; i < v.size(); ++i) {
          const auto prefix = v[i].get<std::string>();
          if (!prefix.starts_with("https://") && !prefix.starts_with("http://"))
            return "item " + std::to_string(i) + " must be an http(s) URL prefix";
        }
        return std::nullopt;
      });
  add("platforms.tiktok.chunk_bytes", Kind::integer, 10LL << 20,
      "Chunk size of TikTok FILE_UPLOAD uploads (5-64 MiB; the last chunk absorbs the remainder).",
      int_range(5LL << 20, 64LL << 20));
  add("platforms.tiktok.status_poll_ms", Kind::integer, 5000,
      "How long a TikTok publish waits (worker freed) between status polls; the status_fetch limit (30/min per "
      "token) applies on top.",
      int_range(100, 600000));
  add("platforms.tiktok.public_id_wait_ms", Kind::integer, 600000,
      "After PUBLISH_COMPLETE, how long to keep polling for the public post id before succeeding without it.",
      int_range(0, 86400000));
  // ---- noop calls (issue 16, the `calls` benchmark) ----
  add("workers.noop_call_url", Kind::string, "",
      "In noop mode, an http(s) URL each job GETs once (the publish upload step, or the one call of the other "
      "types) through the daemon's HTTP client, pooled with up to workers.concurrency connections, in place of "
      "the noop_delay_ms wait: benchmarks of jobs that make one platform call. A private or loopback host must "
      "be in security.allow_private_hosts. Empty: no call.",
      http_url(true));
  // ---- chaos gaps (issue 16): Graph's throttle wait, scaled in tests ----
  add("limits.graph_throttle_wait_ms", Kind::integer, 300000,
      "Facebook and Instagram (Graph): a throttle answer (codes 4, 17, 32, 613, 80001, 80002, or 9) that gives no "
      "estimated_time_to_regain_access defers the job this long before it calls again.",
      int_range(100, 86400000));
  group_by_path(s);
  return s;
}

}  // namespace

const std::vector<Setting>& config_schema() {
  static const std::vector<Setting> schema = build();
  return schema;
}

const Setting* find_setting(std::string_view key) {
  for (const auto& s : config_schema())
    if (s.key == key) return &s;
  return nullptr;
}

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::string: return "a string";
    case Kind::integer: return "an integer";
    case Kind::number: return "a number";
    case Kind::boolean: return "true or false";
    case Kind::string_list: return "a list of strings";
  }
  return "?";
}

}  // namespace schedulo::daemon
