#include "jobs/token_sweep.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "jobs/intake.hpp"
#include "jobs/job_validation.hpp"
#include "queue/scripts.hpp"
#include "tokens/notices.hpp"

namespace schedulo::jobs {
namespace {

using json = nlohmann::json;
constexpr std::int64_t kBucketMs = 3600 * 1000;  // at most one sweep refresh per account per hour

std::string s(std::int64_t n) {
  return std::to_string(n);
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t to_ms(std::chrono::seconds d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

bool dead_status(tokens::AccountStatus status) {
  return status == tokens::AccountStatus::needs_reauth || status == tokens::AccountStatus::revoked;
}

// Members and scores of a ZRANGEBYSCORE ... WITHSCORES reply.
std::vector<std::pair<std::string, std::int64_t>> scored(const redis::Value& v) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (std::size_t i = 0; i + 1 < v.elements.size(); i += 2)
    out.emplace_back(v.elements[i].str, v.elements[i + 1].as_integer().value_or(0));
  return out;
}

}  // namespace

std::string sweep_job_id(const tokens::AccountRef& ref, std::int64_t stamp) {
  static const std::regex kPlain("[A-Za-z0-9_.-]{1,80}");
  std::string who = ref.account;
  if (!std::regex_match(who, kPlain)) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(ref.account.data()), ref.account.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    who = "h";
    for (int i = 0; i < 12; ++i) {
      who += kHex[digest[i] >> 4];
      who += kHex[digest[i] & 15];
    }
  }
  return "sweep-refresh:" + ref.platform + ":" + who + ":" + s(stamp);
}

TokenSweep::TokenSweep(queue::Store& jobs, tokens::TokenStore& tokens, queue::Notifier& notifier,
                       tokens::TokenCallsLookup calls, tokens::TokenProvider* provider, SweepOptions options)
    : jobs_(jobs),
      tokens_(tokens),
      notifier_(notifier),
      calls_(std::move(calls)),
      provider_(provider),
      options_(std::move(options)) {}

std::int64_t TokenSweep::now() const {
  return options_.now_ms ? options_.now_ms() : wall_ms();
}

net::awaitable<boost::system::result<bool>> TokenSweep::lead(std::chrono::milliseconds ttl) {
  using R = boost::system::result<bool>;
  redis::Args args{jobs_.keys().prefix(), options_.owner, s(ttl.count())};
  auto reply = co_await jobs_.client().eval(queue::script("sweep_lease"), {}, std::move(args));
  if (!reply) co_return R(boost::system::in_place_error, reply.error());
  if (reply->is_error()) {
    log::warn("sweep: the lease script failed: {}", reply->str);
    co_return R(boost::system::in_place_error, boost::system::errc::make_error_code(boost::system::errc::io_error));
  }
  co_return R(reply->integer == 1);
}

net::awaitable<void> TokenSweep::resign() {
  redis::Args args{jobs_.keys().prefix(), options_.owner, "0"};
  auto reply = co_await jobs_.client().eval(queue::script("sweep_lease"), {}, std::move(args));
  if (!reply) log::warn("sweep: could not give up the lease: {}", reply.error().message());
}

void TokenSweep::stop() {
  stopped_ = true;
  if (timer_) timer_->cancel();
}

net::awaitable<void> TokenSweep::run(const net::Executor& executor) {
  if (options_.interval.count() <= 0) co_return;
  timer_ = std::make_unique<net::Timer>(executor);
  // The leader renews at every pass; a leader that stopped is replaced once its lease ran out.
  const auto ttl = options_.interval * 2 + std::chrono::milliseconds(30000);
  while (!stopped_) {
    auto led = co_await lead(ttl);
    if (!led) {
      log::warn("sweep: the lease cannot be read now: {}", led.error().message());
    } else if (*led) {
      const auto report = co_await sweep_once();
      if (report.refresh_jobs > 0 || report.needs_reauth > 0 || report.expiring > 0)
        log::info(
            "sweep: {} refresh jobs, {} already pending, {} Page tokens checked, {} need reconnecting, {} expiring",
            report.refresh_jobs, report.duplicates, report.introspected, report.needs_reauth, report.expiring);
    }
    if (stopped_) break;
    timer_->expires_after(options_.interval);
    co_await timer_->async_wait();
  }
  co_await resign();
}

net::awaitable<SweepReport> TokenSweep::sweep_once() {
  SweepReport report;
  const std::int64_t t = now();
  co_await renew_due_access(t, report);
  co_await renew_due_refresh(t, report);
  co_await renew_before_posts(t, report);
  co_await discover_pages(t, report);
  co_await introspect_pages(t, report);
  ++passes_;
  co_return report;
}

// Self-renewing access tokens (no refresh token) inside their refresh window; the others there
// cannot be renewed: told as expiring.
net::awaitable<void> TokenSweep::renew_due_access(std::int64_t t, SweepReport& report) {
  const auto& keys = tokens_.keys();
  auto reply = co_await jobs_.client().exec("ZRANGEBYSCORE", keys.token_access_expiry(),
                                            "(" + s(t + to_ms(options_.short_lived)),
                                            s(t + to_ms(std::max(options_.refresh_ahead, options_.expiring_notice))),
                                            "WITHSCORES", "LIMIT", "0", s(options_.batch));
  if (!reply || reply->is_error()) {
    report.failed = true;
    co_return;
  }
  const auto entries = scored(*reply);
  for (const auto& [member, expires_at] : entries) {
    const auto ref = tokens::parse_account_ref(member);
    if (!ref) continue;
    auto loaded = co_await tokens_.load(*ref);
    if (!loaded || !*loaded || dead_status((*loaded)->status)) continue;
    const auto& account = **loaded;
    bool renewable = !account.refresh_sealed.empty();
    if (auto* calls = calls_ ? calls_(ref->platform) : nullptr) {
      std::string error;
      if (auto set = tokens_.open(account, error)) renewable = calls->can_refresh(*set);
    } else if (ref->platform == "instagram" && account.scopes.find("instagram_business_") != std::string::npos) {
      renewable = true;  // Instagram Login renews the long-lived access token itself (1.2)
    }
    if (renewable) {
      if (account.refresh_sealed.empty() && expires_at <= t + to_ms(options_.refresh_ahead))
        co_await enqueue_refresh(*ref, "access token inside its refresh window", t / kBucketMs, t, report);
    } else if (expires_at <= t + to_ms(options_.expiring_notice)) {
      co_await tell_expiring(account, expires_at, "its access token expires", t, report);
    }
  }
}

// Refresh tokens nearing their own expiry (TikTok: 180 days): a refresh rotates them.
net::awaitable<void> TokenSweep::renew_due_refresh(std::int64_t t, SweepReport& report) {
  auto reply = co_await jobs_.client().exec("ZRANGEBYSCORE", tokens_.keys().token_refresh_expiry(), "-inf",
                                            s(t + to_ms(options_.refresh_token_ahead)), "WITHSCORES", "LIMIT", "0",
                                            s(options_.batch));
  if (!reply || reply->is_error()) {
    report.failed = true;
    co_return;
  }
  const auto entries = scored(*reply);
  for (const auto& [member, expires_at] : entries) {
    (void)expires_at;
    const auto ref = tokens::parse_account_ref(member);
    if (!ref) continue;
    co_await enqueue_refresh(*ref, "refresh token nearing its own expiry", t / kBucketMs, t, report);
  }
}

// Accounts with a post due soon whose token would expire before it: renewed ahead.
net::awaitable<void> TokenSweep::renew_before_posts(std::int64_t t, SweepReport& report) {
  auto& client = jobs_.client();
  const auto& qkeys = jobs_.keys();
  auto due = co_await client.exec("ZRANGEBYSCORE", qkeys.scheduled(), s(t), s(t + to_ms(options_.posts_ahead)),
                                  "WITHSCORES", "LIMIT", "0", s(options_.batch));
  if (!due || due->is_error()) {
    report.failed = true;
    co_return;
  }
  std::set<std::string> seen;
  const auto entries = scored(*due);
  for (const auto& [id, due_at] : entries) {
    auto f = co_await client.exec("HMGET", qkeys.job(id), "type", "platform", "account");
    if (!f || !f->is_array() || f->elements.size() != 3 || f->elements[0].str != "publish") continue;
    const tokens::AccountRef ref{f->elements[1].str, f->elements[2].str};
    if (ref.platform.empty() || ref.account.empty() || !seen.insert(ref.member()).second) continue;
    auto expiry = co_await client.exec("ZSCORE", tokens_.keys().token_access_expiry(), ref.member());
    if (!expiry || expiry->is_nil()) continue;  // never expires, or not connected
    const auto expires_at = expiry->as_integer().value_or(0);
    if (expires_at <= 0 || expires_at > due_at + to_ms(options_.post_margin)) continue;
    auto loaded = co_await tokens_.load(ref);
    if (!loaded || !*loaded || dead_status((*loaded)->status)) continue;
    const bool renewable = !(*loaded)->refresh_sealed.empty() || ref.platform == "instagram";
    if (renewable) co_await enqueue_refresh(ref, "a post is due before its token expires", t / kBucketMs, t, report);
  }
}

// Meta accounts enter the introspection index a batch per pass, whatever connected them.
net::awaitable<void> TokenSweep::discover_pages(std::int64_t t, SweepReport& report) {
  auto& client = jobs_.client();
  const auto& keys = jobs_.keys();
  auto cursor = co_await client.exec("GET", keys.sweep_cursor());
  if (!cursor || cursor->is_error()) {
    report.failed = true;
    co_return;
  }
  const std::string from = cursor->is_nil() || cursor->str.empty() ? "-" : "(" + cursor->str;
  auto members =
      co_await client.exec("ZRANGEBYLEX", tokens_.keys().token_accounts(), from, "+", "LIMIT", "0", s(options_.batch));
  if (!members || !members->is_array()) {
    report.failed = true;
    co_return;
  }
  for (const auto& m : members->elements) {
    if (!m.str.starts_with("facebook:") && !m.str.starts_with("instagram:")) continue;
    auto added = co_await client.exec("ZADD", keys.sweep_checks(), "NX", s(t), m.str);
    if (added && added->integer == 1) ++report.discovered;
  }
  if (static_cast<int>(members->elements.size()) < options_.batch) {
    co_await client.exec("DEL", keys.sweep_cursor());  // the end: start over next pass
  } else {
    co_await client.exec("SET", keys.sweep_cursor(), members->elements.back().str);
  }
}

// Page tokens never expire by time: ask the platform whether they still work, and until when the
// app may read the user's data.
net::awaitable<void> TokenSweep::introspect_pages(std::int64_t t, SweepReport& report) {
  auto& client = jobs_.client();
  const auto& keys = jobs_.keys();
  auto due = co_await client.exec("ZRANGEBYSCORE", keys.sweep_checks(), "-inf", s(t), "LIMIT", "0", s(options_.batch));
  if (!due || !due->is_array()) {
    report.failed = true;
    co_return;
  }
  for (const auto& m : due->elements) {
    const std::string member = m.str;
    const auto ref = tokens::parse_account_ref(member);
    auto* calls = ref && calls_ ? calls_(ref->platform) : nullptr;
    if (!calls || !provider_) continue;  // no token calls here (the CLI): a daemon will look
    auto loaded = co_await tokens_.load(*ref);
    if (!loaded) continue;
    // Tokens with an expiry (Instagram Login, user tokens) are the expiry indexes' business.
    if (!*loaded || dead_status((*loaded)->status) || (*loaded)->access_expires_at_ms != 0 ||
        !(*loaded)->refresh_sealed.empty()) {
      co_await client.exec("ZREM", keys.sweep_checks(), member);
      continue;
    }
    const tokens::StoredAccount account = **loaded;
    std::string error;
    auto set = tokens_.open(account, error);
    if (!set || set->access_token.empty()) {
      co_await client.exec("ZREM", keys.sweep_checks(), member);
      continue;
    }
    auto answer = co_await net::with_timeout(calls->introspect(*set), options_.introspect_timeout);
    ++report.introspected;
    std::int64_t next = t + to_ms(options_.check_every);
    if (!answer || answer->status == platforms::TokenCallStatus::transient ||
        answer->status == platforms::TokenCallStatus::unknown) {
      next = t + std::max<std::int64_t>(options_.interval.count(), 60000);  // look again soon
    } else if (answer->status != platforms::TokenCallStatus::ok || !answer->valid) {
      const std::string why = "the platform says its token is no longer valid" +
                              (answer->message.empty() ? std::string() : " (" + answer->message + ")");
      co_await provider_->report_revoked(*ref, account.version, why);
      ++report.needs_reauth;
      co_await client.exec("ZREM", keys.sweep_checks(), member);
      continue;
    } else if (answer->data_access_expires_at_ms > 0 &&
               answer->data_access_expires_at_ms <= t + to_ms(options_.expiring_notice)) {
      co_await tell_expiring(account, answer->data_access_expires_at_ms, "the app's access to its data ends", t,
                             report);
    }
    co_await client.exec("ZADD", keys.sweep_checks(), s(next), member);
  }
}

net::awaitable<void> TokenSweep::enqueue_refresh(const tokens::AccountRef& ref, const std::string& why,
                                                 std::int64_t stamp, std::int64_t /*now*/, SweepReport& report) {
  const json raw{{"id", sweep_job_id(ref, stamp)},
                 {"type", "refresh_token"},
                 {"platform", ref.platform},
                 {"account", ref.account},
                 {"max_attempts", options_.max_attempts}};
  auto parsed = parse_job(raw.dump(), ValidationContext{});
  if (!parsed.job) {
    log::warn("sweep: no refresh job for {}: {}", ref.member(),
              parsed.errors.empty() ? std::string("invalid") : parsed.errors.front().message);
    co_return;
  }
  std::vector<queue::NewJob> batch{to_new_job(std::move(*parsed.job), options_.max_attempts)};
  // Jobs run on the wall clock, whatever clock the windows were judged on.
  auto result = co_await jobs_.enqueue(batch, wall_ms());
  if (!result || result->empty()) {
    report.failed = true;
    co_return;
  }
  if (result->front() == queue::EnqueueResult::created) {
    ++report.refresh_jobs;
    log::info("sweep: refresh job for {}: {}", ref.member(), why);
  } else {
    ++report.duplicates;
  }
}

net::awaitable<void> TokenSweep::tell_expiring(const tokens::StoredAccount& account, std::int64_t at_ms,
                                               const std::string& what, std::int64_t t, SweepReport& report) {
  const bool told = co_await tokens::notify_expiring(notifier_, account.ref, at_ms, what);
  if (told) ++report.expiring;
  if (account.status == tokens::AccountStatus::active) {
    const std::string reason = what + " on " + format_rfc3339_ms(at_ms);
    auto marked =
        co_await tokens_.set_status(account.ref, account.version, tokens::AccountStatus::expiring, reason, t, false);
    if (!marked) log::warn("sweep: could not mark {} expiring: {}", account.ref.member(), marked.error().message());
  }
}

}  // namespace schedulo::jobs
