#include "tests/chaos/chaos_harness.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <thread>

#include "tests/support/child_process.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/sandbox_process.hpp"

#ifndef SCHEDULO_DAEMON_BIN
#error "SCHEDULO_DAEMON_BIN (the schedulo binary) must be defined"
#endif
#ifndef SCHEDULO_SANDBOX_BIN
#error "SCHEDULO_SANDBOX_BIN must be defined"
#endif

namespace schedulo::chaos {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAirtableBase = "appSandboxBase001";
const std::set<std::string> kFinal{"succeeded", "failed", "dead", "needs_review", "cancelled"};

// Every job's state in one round trip, as one JSON text (redis-cli prints a bulk string as it is).
constexpr const char* kStatesScript =
    "local out = {} "
    "for i, id in ipairs(ARGV) do "
    "  local v = redis.call('HMGET', KEYS[1] .. ':job:' .. id, 'state', 'attempts', 'error_code', 'error') "
    "  out[i] = {id = id, state = v[1] or '', attempts = v[2] or '', error_code = v[3] or '', error = v[4] or ''} "
    "end "
    "return cjson.encode(out)";
// Outbox entries not yet acknowledged: queued (due now or later) and claimed by a writer.
constexpr const char* kOutboxScript =
    "local n = redis.call('ZCARD', KEYS[1] .. ':outbox:claimed') "
    "for _, k in ipairs(redis.call('KEYS', KEYS[1] .. ':outbox:queue:*')) do n = n + redis.call('ZCARD', k) end "
    "return n";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

template <typename F>
bool poll_until(F done, std::chrono::milliseconds limit, std::chrono::milliseconds every = 100ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

std::string first_of(const std::vector<std::string>& items, std::size_t n = 12) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < n; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > n) out += ", ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

// The most entries of `entries` (sorted by at_ms) that fall in any window of `period_ms`.
std::size_t busiest_window(std::vector<std::int64_t> at, std::int64_t period_ms) {
  std::sort(at.begin(), at.end());
  std::size_t best = 0;
  for (std::size_t i = 0, j = 0; j < at.size(); ++j) {
    while (at[j] - at[i] >= period_ms) ++i;
    best = std::max(best, j - i + 1);
  }
  return best;
}

// The injected fault's kind of a request log entry ("" when none: the log writes null).
std::string fault_of(const json& entry) {
  return entry.contains("fault") && entry["fault"].is_string() ? entry["fault"].get<std::string>() : "";
}

}  // namespace

Harness::Harness(Options options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/schedulo-chaos.XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  sandbox_ = std::make_unique<test::SandboxProcess>(std::vector<std::string>{});  // the real clock
  if (options_.sentinel) {
    primary_ = std::make_unique<test::RedisProcess>(std::vector<std::string>{"--appendfsync", "always"});
    primary_->start();
    replica_ = std::make_unique<test::RedisProcess>(std::vector<std::string>{
        "--appendfsync", "always", "--replicaof", "127.0.0.1", std::to_string(primary_->port())});
    replica_->start();
    if (!poll_until(
            [&] {
              return replica_->cli({"INFO", "replication"}).find("master_link_status:up") != std::string::npos;
            },
            30s))
      throw std::runtime_error("the replica never synced");
    sentinel_ = std::make_unique<test::RedisProcess>();
    sentinel_->use_sentinel_config("sentinel monitor chaos 127.0.0.1 " + std::to_string(primary_->port()) +
                                   " 1\nsentinel down-after-milliseconds chaos " + std::to_string(kRedisCommandMs) +
                                   "\nsentinel failover-timeout chaos 5000\n");
    sentinel_->start();
    if (!poll_until(
            [&] {
              return sentinel_->cli({"SENTINEL", "replicas", "chaos"}).find(std::to_string(replica_->port())) !=
                     std::string::npos;
            },
            30s))
      throw std::runtime_error("the sentinel never discovered the replica");
  } else {
    primary_ = std::make_unique<test::RedisProcess>(std::vector<std::string>{"--appendfsync", "always"});
    primary_->start();
  }
  const auto key = test::run_command({SCHEDULO_DAEMON_BIN, "vault", "keygen", "--id", "k1"});
  if (key.status != 0) throw std::runtime_error("vault keygen: " + key.err);
  key_file_ = dir_ + "/vault.keys";
  std::ofstream(key_file_) << key.out;
  ::chmod(key_file_.c_str(), 0600);
  const auto printed = test::run_command(
      {SCHEDULO_SANDBOX_BIN, "--listen", "127.0.0.1:" + std::to_string(sandbox_->port()), "--print-config"});
  if (printed.status != 0) throw std::runtime_error("sandbox --print-config: " + printed.err);
  config_ = json::parse(printed.out);
  write_config();
  create_accounts();
}

Harness::~Harness() {
  for (auto& d : daemons_)
    if (d) d->kill9();
  daemons_.clear();
  const bool failed = ::testing::Test::HasFailure();
  if (failed) {
    std::cout << "CHAOS files kept in " << dir_ << "\n";
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string Harness::base_url() const {
  return "http://127.0.0.1:" + std::to_string(sandbox_->port());
}

void Harness::write_config() {
  const std::string base = base_url();
  json c = config_;
  const std::string url = options_.sentinel
                              ? "redis-sentinel://127.0.0.1:" + std::to_string(sentinel_->port()) + "/chaos"
                              : primary_->url();
  c["redis"] = {
      {"url", url}, {"prefix", prefix_}, {"command_timeout_ms", kRedisCommandMs}, {"connect_timeout_ms", 500}};
  c["workers"] = {{"mode", "live"},       {"concurrency", kConcurrency},
                  {"lease_ms", kLeaseMs}, {"reaper_grace_ms", kReaperGraceMs},
                  {"idle_wait_ms", 50},   {"shutdown_grace_ms", 2000}};
  c["vault"] = {{"key_file", key_file_}};
  c["tokens"] = {{"defer_ms", 100}};
  c["jobs"] = {{"retry_base_ms", 100}, {"retry_cap_ms", 500}};
  c["breaker"] = {{"failure_threshold", kFailureThreshold},
                  {"open_ms", kOpenMs},
                  {"max_open_ms", 4 * kOpenMs},
                  {"probe_timeout_ms", 2000}};
  c["limits"] = {
      {"rules",
       {"x:account:tweets_create=" + std::to_string(kXPostLimit) + "/" + std::to_string(kXPostPeriodMs / 1000) + "s"}},
      {"max_wait_ms", 500},
      {"usage_stop_ms", 2 * kOpenMs}};  // Meta at 100 % without a time to regain access
  c["sweep"] = {{"interval_s", 0}};     // the refreshes under test are the jobs' own
  c["airtable"]["batch_linger_ms"] = 50;
  c["airtable"]["account_sweep_interval_s"] = 0;
  c["airtable"]["analytics_followups"] = json::array();  // follow-ups would stay scheduled for hours
  c["platforms"]["facebook"]["status_poll_ms"] = 200;
  c["platforms"]["instagram"]["poll_interval_ms"] = 100;
  c["platforms"]["instagram"]["quota_recheck_ms"] = 500;
  c["platforms"]["instagram"]["video_upload"] = "url";
  c["platforms"]["tiktok"]["verified_prefixes"] = {base + "/cdn/"};
  c["platforms"]["tiktok"]["status_poll_ms"] = 200;
  c["platforms"]["tiktok"]["public_id_wait_ms"] = 5000;
  c["log"] = {{"level", "info"}};
  c.merge_patch(options_.config_patch);
  config_path_ = dir_ + "/schedulo.json";
  std::ofstream(config_path_, std::ios::trunc) << c.dump(2);
  for (int i = 0; i < kDaemons; ++i) {
    json own = c;
    own["workers"]["id"] = "chaos-d" + std::to_string(i);
    std::ofstream(dir_ + "/daemon" + std::to_string(i) + ".json", std::ios::trunc) << own.dump(2);
  }
}

json Harness::admin(const std::string& method, const std::string& path, const json& body) {
  return test::http_json(sandbox_->port(), method, "/_sandbox" + path, body);
}

std::vector<std::uint64_t> Harness::fault(const json& spec) {
  const auto answer = admin("POST", "/faults", spec);
  EXPECT_TRUE(answer.contains("ids")) << spec.dump() << " -> " << answer.dump();
  return answer.value("ids", std::vector<std::uint64_t>{});
}

void Harness::clear_faults() {
  admin("DELETE", "/faults");
}

void Harness::create_accounts() {
  auto add = [&](const Account& a, const json& tokens) {
    accounts_.push_back(a);
    const auto r = test::run_command(
        {SCHEDULO_DAEMON_BIN, "account", "add", "--config", config_path_, a.platform + ":" + a.key}, tokens.dump());
    if (r.status != 0) throw std::runtime_error("account add " + a.platform + ":" + a.key + ": " + r.err + r.out);
  };
  for (int n = 1; n <= 2; ++n) {
    const std::string tag = std::to_string(n);
    const json x = admin("POST", "/x/users", {{"username", "chaos_x" + tag}});
    add({"x", "x" + tag, x["user"]["id"].get<std::string>()},
        {{"access_token", x["tokens"]["access_token"]},
         {"refresh_token", x["tokens"]["refresh_token"]},
         {"expires_in", x["tokens"].value("expires_in", 7200)},
         {"scopes", "tweet.read tweet.write users.read offline.access media.write"}});

    const std::string open_id = "open-chaos-tt" + tag;
    admin("PUT", "/tiktok/users/" + open_id, {{"processing_polls", 1}, {"public_polls", 0}});
    const json tt = admin("POST", "/tiktok/tokens", {{"open_id", open_id}});
    add({"tiktok", "tt" + tag, open_id}, {{"access_token", tt["access_token"]},
                                          {"refresh_token", tt["refresh_token"]},
                                          {"expires_in", tt.value("expires_in", 86400)},
                                          {"refresh_expires_in", tt.value("refresh_expires_in", 365 * 86400)},
                                          {"scopes", tt.value("scope", "")}});

    const json fb = admin("POST", "/graph/facebook/users", {{"pages", {{{"name", "Chaos Page " + tag}}}}});
    add({"facebook", "fb" + tag, fb["pages"][0]["id"].get<std::string>()},
        {{"access_token", fb["pages"][0]["access_token"]},
         {"scopes", "pages_show_list,pages_read_engagement,pages_manage_posts,read_insights"}});

    const json ig = admin("POST", "/graph/instagram/users", {{"username", "chaos.ig" + tag}, {"long_lived", true}});
    add({"instagram", "ig" + tag, ig["ig_user_id"].get<std::string>()},
        {{"access_token", ig["access_token"]},
         {"expires_in", 59 * 86400},
         {"scopes", "instagram_business_basic,instagram_business_content_publish,instagram_business_manage_insights"}});
  }
}

// ---- daemons ----

void Harness::start_daemons() {
  for (int i = 0; i < kDaemons; ++i) start_daemon(i);
}

void Harness::start_daemon(int i) {
  if (daemons_.size() < static_cast<std::size_t>(kDaemons)) daemons_.resize(kDaemons);
  auto& d = daemons_[static_cast<std::size_t>(i)];
  const std::string log = dir_ + "/daemon" + std::to_string(i) + ".log";
  if (!d)
    d = std::make_unique<test::Child>(std::vector<std::string>{SCHEDULO_DAEMON_BIN, "run", "--config",
                                                               dir_ + "/daemon" + std::to_string(i) + ".json"},
                                      log);
  auto ready_count = [&] {
    const auto text = d->log();
    std::size_t n = 0;
    for (auto at = text.find("ready: consuming jobs"); at != std::string::npos;
         at = text.find("ready: consuming jobs", at + 1))
      ++n;
    return n;
  };
  const auto before = ready_count();
  d->start();
  const bool ready = poll_until([&] { return ready_count() > before || !d->running(); }, 60s, 20ms);
  ASSERT_TRUE(ready && d->running()) << "daemon " << i << " did not start\n" << d->log();
}

void Harness::kill_daemon(int i) {
  daemons_.at(static_cast<std::size_t>(i))->kill9();
}

bool Harness::daemon_running(int i) {
  return daemons_.at(static_cast<std::size_t>(i))->running();
}

bool Harness::stop_daemons() {
  bool clean = true;
  for (auto& d : daemons_) {
    if (!d || !d->running()) continue;
    d->terminate();
  }
  for (std::size_t i = 0; i < daemons_.size(); ++i) {
    auto& d = daemons_[i];
    if (!d) continue;
    const auto status = d->wait_exit(30s);
    if (status && *status != 0) {
      ADD_FAILURE() << "daemon " << i << " exited " << *status << " on SIGTERM\n" << d->log();
      clean = false;
    }
  }
  return clean;
}

std::string Harness::daemon_logs_tail(std::size_t bytes) const {
  std::string out;
  for (std::size_t i = 0; i < daemons_.size(); ++i) {
    if (!daemons_[i]) continue;
    auto text = daemons_[i]->log();
    if (text.size() > bytes) text = "..." + text.substr(text.size() - bytes);
    out += "---- daemon " + std::to_string(i) + "\n" + text + "\n";
  }
  return out;
}

// ---- Redis ----

test::RedisProcess& Harness::redis() {
  return failed_over_ ? *replica_ : *primary_;
}

void Harness::redis_kill9_and_restart() {
  primary_->kill9();
  primary_->start();  // same port and dir: the AOF is read back
}

void Harness::redis_pause() {
  redis().pause();
}

void Harness::redis_resume() {
  redis().resume();
}

bool Harness::fail_over(std::chrono::milliseconds limit) {
  primary_->kill9();
  const bool promoted = poll_until(
      [&] {
        return sentinel_->cli({"SENTINEL", "get-master-addr-by-name", "chaos"})
                   .find(std::to_string(replica_->port())) != std::string::npos;
      },
      limit);
  if (promoted) failed_over_ = true;
  return promoted;
}

std::string Harness::redis_cli_json(const std::vector<std::string>& args) {
  return trim(redis().cli(args));
}

// ---- load ----

std::vector<JobSpec> Harness::mixed_load(int round, const std::string& media_query) {
  const std::string base = base_url();
  const std::string q = media_query.empty() ? "" : "&" + media_query;
  std::vector<JobSpec> out;
  auto job = [&](const Account& a, const std::string& type, const std::string& what, json post = nullptr) {
    JobSpec j;
    j.id = "r" + std::to_string(round) + "-" + a.key + "-" + what;
    j.type = type;
    j.platform = a.platform;
    j.account = a.key;
    j.doc = {{"id", j.id}, {"type", type}, {"platform", a.platform}, {"account", a.key}};
    if (!post.is_null()) {
      post["text"] = "chaos " + j.id;  // the marker the accounting counts posts by
      j.doc["post"] = post;
    }
    out.push_back(std::move(j));
  };
  for (const auto& a : accounts_) {
    if (a.platform == "x") {
      job(a, "publish", "text1", json::object());
      job(a, "publish", "text2", json::object());
      job(a, "publish", "image", {{"media", {{{"url", base + "/cdn/jpeg/a.jpg?bytes=40000" + q}, {"kind", "image"}}}}});
      job(a, "refresh_token", "refresh");
      job(a, "fetch_analytics", "analytics");
    } else if (a.platform == "facebook") {
      job(a, "publish", "text1", json::object());
      job(a, "publish", "text2", json::object());
      job(a, "fetch_analytics", "analytics");
    } else if (a.platform == "instagram") {
      job(a, "publish", "image",
          {{"media", {{{"url", base + "/cdn/jpeg/i.jpg?width=1080&height=1080" + q}, {"kind", "image"}}}},
           {"options", {{"instagram", {{"as", "feed"}}}}}});
      job(a, "fetch_analytics", "analytics");
    } else if (a.platform == "tiktok") {
      job(a, "publish", "video",
          {{"media", {{{"url", base + "/cdn/mp4/v.mp4?bytes=300000&duration=3" + q}, {"kind", "video"}}}},
           {"options", {{"tiktok", {{"source", "upload"}, {"privacy_level", "SELF_ONLY"}}}}}});
      job(a, "refresh_token", "refresh");
    }
  }
  return out;
}

void Harness::enqueue(const std::vector<JobSpec>& jobs) {
  std::string lines;
  for (const auto& j : jobs) lines += j.doc.dump() + "\n";
  const auto r = test::run_command({SCHEDULO_DAEMON_BIN, "enqueue", "--config", config_path_, "-"}, lines);
  ASSERT_EQ(r.status, 0) << r.err << r.out;
}

std::vector<JobSpec> Harness::enqueue_mixed_load() {
  std::vector<JobSpec> all;
  for (int round = 1; round <= options_.rounds; ++round) {
    auto load = mixed_load(round);
    all.insert(all.end(), load.begin(), load.end());
  }
  enqueue(all);
  return all;
}

// ---- reading ----

std::map<std::string, json> Harness::job_states(const std::vector<std::string>& ids) {
  std::map<std::string, json> out;
  for (std::size_t at = 0; at < ids.size(); at += 100) {
    std::vector<std::string> args{"EVAL", kStatesScript, "1", prefix_};
    for (std::size_t i = at; i < std::min(ids.size(), at + 100); ++i) args.push_back(ids[i]);
    const auto parsed = json::parse(redis_cli_json(args), nullptr, false);
    if (!parsed.is_array()) return {};  // Redis unreachable: nothing known
    for (const auto& e : parsed) out[e.value("id", "")] = e;
  }
  return out;
}

std::size_t Harness::final_count(const std::vector<std::string>& ids) {
  std::size_t n = 0;
  for (const auto& [id, e] : job_states(ids))
    if (kFinal.count(e.value("state", ""))) ++n;
  return n;
}

namespace {
std::vector<std::string> ids_of(const std::vector<JobSpec>& jobs) {
  std::vector<std::string> ids;
  for (const auto& j : jobs) ids.push_back(j.id);
  return ids;
}
}  // namespace

bool Harness::wait_progress(const std::vector<JobSpec>& jobs, std::size_t final_at_least, std::chrono::seconds limit) {
  const auto ids = ids_of(jobs);
  const bool reached = poll_until([&] { return final_count(ids) >= final_at_least; }, limit, 200ms);
  EXPECT_TRUE(reached) << final_at_least << " of " << ids.size() << " jobs never final\n" << daemon_logs_tail();
  return reached;
}

bool Harness::wait_final(const std::vector<JobSpec>& jobs, std::chrono::seconds limit) {
  const auto ids = ids_of(jobs);
  const bool reached = poll_until([&] { return final_count(ids) == ids.size(); }, limit, 200ms);
  if (!reached) {
    std::vector<std::string> open;
    for (const auto& [id, e] : job_states(ids))
      if (!kFinal.count(e.value("state", "")))
        open.push_back(id + "=" + e.value("state", "") + "/" + e.value("error_code", ""));
    ADD_FAILURE() << "jobs not final after " << limit.count() << " s: " << first_of(open) << "\n" << daemon_logs_tail();
  }
  return reached;
}

long long Harness::outbox_pending() {
  const auto out = redis_cli_json({"EVAL", kOutboxScript, "1", prefix_});
  try {
    return std::stoll(out);
  } catch (...) {
    return -1;
  }
}

json Harness::request_log(const std::string& query) {
  json all = json::array();
  std::uint64_t since = 0;
  for (;;) {
    const auto page =
        admin("GET", "/log?" + query + (query.empty() ? "" : "&") + "since=" + std::to_string(since) + "&limit=1000");
    const auto entries = page.value("entries", json::array());
    for (const auto& e : entries) {
      all.push_back(e);
      since = std::max<std::uint64_t>(since, e.value("seq", std::uint64_t{0}));
    }
    if (entries.size() < 1000) break;
  }
  return all;
}

std::uint64_t Harness::log_seq() {
  return admin("GET", "/log?limit=1").value("last_seq", std::uint64_t{0});
}

// ---- the accounting ----

void Harness::account(const std::vector<JobSpec>& jobs) {
  const auto states = job_states(ids_of(jobs));
  ASSERT_EQ(states.size(), jobs.size()) << "Redis must answer for every job";
  std::vector<std::string> not_final, wrong;
  std::map<std::string, int> by_state;
  for (const auto& j : jobs) {
    const auto& e = states.at(j.id);
    const auto state = e.value("state", "");
    ++by_state[j.type + ":" + state];
    if (!kFinal.count(state)) {
      not_final.push_back(j.id + "=" + state);
    } else if (state != "succeeded" &&
               !(options_.allow_needs_review && j.type == "publish" && state == "needs_review")) {
      wrong.push_back(j.id + "=" + state + " (" + e.value("error_code", "") + ": " + e.value("error", "") + ")");
    }
  }
  EXPECT_TRUE(not_final.empty()) << "jobs not final: " << first_of(not_final);
  EXPECT_TRUE(wrong.empty()) << "jobs that did not succeed: " << first_of(wrong);
  std::cout << "CHAOS states:";
  for (const auto& [k, n] : by_state) std::cout << " " << k << "=" << n;
  std::cout << "\n";

  expect_no_duplicate_posts(jobs, states);
  expect_refresh_tokens_kept();

  // Every outcome reaches Airtable before the daemons stop (the outbox drained, nothing dead).
  EXPECT_TRUE(poll_until([&] { return outbox_pending() == 0; }, 120s, 200ms))
      << "the outbox never drained: " << outbox_pending() << " entries left\n"
      << daemon_logs_tail();
  EXPECT_EQ(redis_cli_json({"ZCARD", prefix_ + ":outbox:dead"}), "0") << "outbox entries given up";
  EXPECT_TRUE(stop_daemons());
  expect_airtable_rows(jobs, states);
  expect_limits_held();
}

void Harness::expect_no_duplicate_posts(const std::vector<JobSpec>& jobs, const std::map<std::string, json>& states) {
  std::map<std::string, int> posts;  // marker text -> posts carrying it, over every platform
  auto count = [&](const json& list, const char* field) {
    for (const auto& p : list)
      if (p.is_object() && p.contains(field) && p[field].is_string() && !p.value("deleted", false))
        ++posts[p[field].get<std::string>()];
  };
  count(admin("GET", "/x/posts").value("posts", json::array()), "text");
  count(admin("GET", "/tiktok/posts").value("posts", json::array()), "title");
  for (const auto& a : accounts_) {
    if (a.platform == "facebook")
      count(admin("GET", "/graph/facebook/pages/" + a.platform_id).value("posts", json::array()), "message");
    if (a.platform == "instagram")
      count(admin("GET", "/graph/instagram/accounts/" + a.platform_id).value("media", json::array()), "caption");
  }
  std::vector<std::string> twice, missing, extra;
  std::set<std::string> markers;
  for (const auto& j : jobs) {
    if (j.type != "publish") continue;
    const std::string marker = "chaos " + j.id;
    markers.insert(marker);
    const int n = posts.count(marker) ? posts[marker] : 0;
    if (n > 1) twice.push_back(j.id + " x" + std::to_string(n));
    if (n == 0 && states.at(j.id).value("state", "") == "succeeded") missing.push_back(j.id);
  }
  for (const auto& [text, n] : posts)
    if (text.rfind("chaos ", 0) == 0 && !markers.count(text)) extra.push_back(text);
  EXPECT_TRUE(twice.empty()) << "posts published more than once: " << first_of(twice);
  EXPECT_TRUE(missing.empty()) << "jobs succeeded without a post on the platform: " << first_of(missing);
  EXPECT_TRUE(extra.empty()) << "posts no job asked for: " << first_of(extra);
}

void Harness::expect_refresh_tokens_kept() {
  // A last refresh of each rotating account, chaos over: it works only with the newest refresh token.
  std::vector<JobSpec> last;
  for (const auto& a : accounts_) {
    if (a.platform != "x" && a.platform != "tiktok") continue;
    JobSpec j;
    j.id = "final-refresh-" + a.key;
    j.type = "refresh_token";
    j.platform = a.platform;
    j.account = a.key;
    j.doc = {{"id", j.id}, {"type", "refresh_token"}, {"platform", a.platform}, {"account", a.key}};
    last.push_back(j);
  }
  enqueue(last);
  if (!wait_final(last, 120s)) return;
  for (const auto& [id, e] : job_states(ids_of(last)))
    EXPECT_EQ(e.value("state", ""), "succeeded") << id << ": the account's refresh token was lost " << e.dump();
  const auto listed = test::run_command({SCHEDULO_DAEMON_BIN, "account", "list", "--config", config_path_});
  ASSERT_EQ(listed.status, 0) << listed.err;
  std::istringstream lines(listed.out);
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto a = json::parse(line, nullptr, false);
    if (!a.is_object()) continue;
    ++n;
    const auto status = a.value("status", "");
    EXPECT_TRUE(status == "active" || status == "expiring") << "account " << line;
  }
  EXPECT_EQ(n, accounts_.size()) << listed.out;
}

void Harness::expect_airtable_rows(const std::vector<JobSpec>& jobs, const std::map<std::string, json>& states) {
  const std::string token = config_["airtable"].value("token", "");
  std::map<std::string, std::vector<std::string>> rows;  // Post Key -> the States of its rows
  std::string offset;
  for (int page = 0; page < 50; ++page) {
    const auto reply = test::http(
        sandbox_->port(), "GET",
        "/v0/" + std::string(kAirtableBase) + "/Posts?pageSize=100" + (offset.empty() ? "" : "&offset=" + offset), "",
        {{"Authorization", "Bearer " + token}});
    ASSERT_EQ(reply.status, 200) << reply.body;
    const auto body = reply.json();
    for (const auto& r : body.value("records", json::array())) {
      const auto& f = r["fields"];
      rows[f.value("Post Key", "")].push_back(f.value("State", ""));
    }
    offset = body.value("offset", "");
    if (offset.empty()) break;
    std::this_thread::sleep_for(250ms);  // Airtable allows 5 requests/s per base
  }
  std::vector<std::string> wrong;
  for (const auto& j : jobs) {
    if (j.type != "publish") continue;
    const auto it = rows.find(j.id);
    const auto state = states.at(j.id).value("state", "");
    if (it == rows.end()) {
      wrong.push_back(j.id + ": no row");
    } else if (it->second.size() != 1) {
      wrong.push_back(j.id + ": " + std::to_string(it->second.size()) + " rows");
    } else if (it->second.front() != state) {
      wrong.push_back(j.id + ": row says " + it->second.front() + ", Redis " + state);
    }
  }
  for (const auto& [key, states_of] : rows)
    if (states_of.size() > 1) wrong.push_back(key + ": " + std::to_string(states_of.size()) + " rows");
  EXPECT_TRUE(wrong.empty()) << "Posts rows not exactly one per outcome: " << first_of(wrong);
}

void Harness::expect_limits_held() {
  // Per token and window, every call that reached the platform (429s included): the limiter counts
  // them all.
  auto per_token = [&](const std::string& route, std::int64_t period_ms, std::size_t most) {
    std::map<std::string, std::vector<std::int64_t>> calls;
    for (const auto& e : request_log("route=" + route))
      calls[e["headers"].value("authorization", "")].push_back(e.value("at_ms", std::int64_t{0}));
    std::size_t busiest = 0;
    for (const auto& [token, at] : calls) {
      const auto n = busiest_window(at, period_ms);
      busiest = std::max(busiest, n);
      EXPECT_LE(n, most) << route << ": " << n << " calls of one token within " << period_ms << " ms";
    }
    std::cout << "CHAOS limit " << route << " busiest_window=" << busiest << " allowed=" << most << "\n";
  };
  per_token("x.tweets.create", kXPostPeriodMs, kXPostLimit + kXPostBurst);
  per_token("tiktok.video_init", kTikTokInitPeriodMs, kTikTokInitLimit + kTikTokInitBurst);

  std::vector<std::int64_t> airtable;
  std::size_t refused = 0;
  for (const auto& e : request_log("api=airtable")) {
    airtable.push_back(e.value("at_ms", std::int64_t{0}));
    if (e.value("status", 0) == 429 && fault_of(e).empty()) ++refused;
  }
  // Also after a Sentinel failover: the new primary may lack the old one's last grants, and the
  // limiter holds every bucket back as fully spent then (queue/lua/rate_acquire.lua).
  EXPECT_EQ(refused, 0U) << "Airtable refused calls over its 5 requests/s";
  std::cout << "CHAOS limit airtable refused=" << refused << "\n";
  const auto busiest = busiest_window(airtable, 1000);
  std::cout << "CHAOS limit airtable calls=" << airtable.size() << " busiest_second=" << busiest << "\n";
}

namespace {

// The job a publish request is for: its marker "chaos <job id>" in the body or the parameters.
std::string marker_of(const json& entry) {
  // As sent: JSON ("chaos r1-..."), or a form or query ("chaos+r1-...", "chaos%20r1-...").
  for (const char* part : {"body", "params", "query"}) {
    if (!entry.contains(part)) continue;
    const auto text = entry[part].is_string() ? entry[part].get<std::string>() : entry[part].dump();
    for (const std::string marker : {"chaos r", "chaos+r", "chaos%20r"}) {
      const auto at = text.find(marker);
      if (at == std::string::npos) continue;
      const auto from = at + marker.size() - 1;
      auto end = from;
      while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '-')) ++end;
      return text.substr(from, end - from);
    }
  }
  return {};
}

// When a throttled answer said the limit clears (ms on the sandbox clock): x-rate-limit-reset (epoch
// s), or Retry-After (s) from the answer, or `quiet_ms` when it names no time. The answer left at or
// after the request's arrival, so the daemon's time is at least this.
std::int64_t clears_at(const json& entry, std::int64_t quiet_ms) {
  const auto at = entry.value("at_ms", std::int64_t{0});
  const auto h = entry.value("response_headers", json::object());
  auto number = [&](const char* name) -> std::optional<std::int64_t> {
    if (!h.is_object() || !h.contains(name) || !h[name].is_string()) return std::nullopt;
    try {
      return std::stoll(h[name].get<std::string>());
    } catch (...) {
      return std::nullopt;
    }
  };
  if (auto reset = number("x-rate-limit-reset")) return *reset * 1000;
  if (auto after = number("retry-after")) return at + *after * 1000;
  return at + quiet_ms;
}

}  // namespace

std::size_t Harness::expect_throttles_honoured(const std::map<std::string, std::int64_t>& routes) {
  std::size_t throttles = 0;
  for (const auto& [route, quiet_ms] : routes) {
    std::map<std::string, std::vector<json>> by_job;  // in arrival order
    for (const auto& e : request_log("route=" + route)) {
      const auto job = marker_of(e);
      if (!job.empty()) by_job[job].push_back(e);
    }
    std::size_t seen = 0, retried = 0;
    std::int64_t least_margin = std::numeric_limits<std::int64_t>::max();
    for (const auto& [job, entries] : by_job) {
      for (std::size_t i = 0; i < entries.size(); ++i) {
        if (fault_of(entries[i]) != "rate_limit") continue;
        ++seen;
        if (i + 1 == entries.size()) {
          ADD_FAILURE() << route << ": job " << job << " never came back after its throttle";
          continue;
        }
        ++retried;
        const auto clears = clears_at(entries[i], quiet_ms);
        const auto next = entries[i + 1].value("at_ms", std::int64_t{0});
        least_margin = std::min(least_margin, next - clears);
        EXPECT_GE(next, clears) << route << ": job " << job << " came back " << (clears - next)
                                << " ms before the time its throttled answer named (seq " << entries[i].value("seq", 0)
                                << " -> " << entries[i + 1].value("seq", 0) << ")";
      }
    }
    throttles += seen;
    std::cout << "CHAOS throttles " << route << " seen=" << seen << " retried=" << retried
              << " least_wait_beyond_the_named_time_ms=" << (retried ? least_margin : 0) << "\n";
  }
  return throttles;
}

void Harness::expect_breaker_held(const std::string& what, std::uint64_t from_seq, std::uint64_t until_seq,
                                  std::int64_t outage_ms) {
  std::vector<std::int64_t> failed;
  for (const auto& e : request_log("")) {
    const auto seq = e.value("seq", std::uint64_t{0});
    if (seq <= from_seq || (until_seq && seq > until_seq) || fault_of(e).empty()) continue;
    failed.push_back(e.value("at_ms", std::int64_t{0}));
  }
  std::sort(failed.begin(), failed.end());
  ASSERT_GE(failed.size(), static_cast<std::size_t>(kFailureThreshold)) << "the outage was never met";
  // By the threshold-th failure the circuit is open in Redis; every daemon sees it within its cache
  // time, and calls already sent arrive within moments. After that only probes go, at most one per
  // open period (each failed probe doubles it).
  const auto opened = failed[static_cast<std::size_t>(kFailureThreshold) - 1];
  const auto settled = opened + kBreakerCacheMs + 500;
  const auto after = static_cast<std::size_t>(
      std::count_if(failed.begin(), failed.end(), [&](std::int64_t t) { return t > settled; }));
  const auto probes = static_cast<std::size_t>(outage_ms / kOpenMs + 1);
  std::cout << "CHAOS breaker " << what << " failed_calls=" << failed.size() << " after_open=" << after
            << " probes_allowed=" << probes << "\n";
  EXPECT_LE(after, probes) << "calls went to " << what << " while its circuit was open";
}

}  // namespace schedulo::chaos
