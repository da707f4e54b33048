#include "outbox/account_cache.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "platforms/airtable/schema.hpp"

namespace schedulo::outbox {
namespace {

using json = nlohmann::json;
namespace f = airtable::field;

}  // namespace

std::string CachedAccount::status() const {
  return fields.contains(f::kStatus) && fields[f::kStatus].is_string() ? fields[f::kStatus].get<std::string>() : "";
}

AccountCache::AccountCache(redis::Client& redis, queue::Keys keys, airtable::Client& airtable,
                           AccountCacheOptions options)
    : redis_(redis), keys_(std::move(keys)), airtable_(airtable), options_(std::move(options)) {}

net::awaitable<void> AccountCache::store(const std::string& key, const std::optional<CachedAccount>& account) {
  json j =
      account
          ? json{{"record_id", account->record_id}, {"fields", account->fields}, {"fetched_at", account->fetched_at_ms}}
          : json{{"missing", true}, {"fetched_at", now_epoch_ms()}};
  const auto ttl = account ? options_.ttl : options_.missing_ttl;
  co_await redis_.exec("SET", keys_.account_cache(key), j.dump(), "EX", std::to_string(ttl.count()));
}

net::awaitable<airtable::Result<std::optional<CachedAccount>>> AccountCache::get(const std::string& account) {
  auto cached = co_await redis_.exec("GET", keys_.account_cache(account));
  if (cached && cached->is_string()) {
    const auto j = json::parse(cached->str, nullptr, false);
    if (j.is_object()) {
      if (j.value("missing", false)) co_return std::optional<CachedAccount>();
      CachedAccount a;
      a.record_id = j.value("record_id", "");
      a.fields = j.value("fields", json::object());
      a.fetched_at_ms = j.value("fetched_at", std::int64_t{0});
      co_return std::optional<CachedAccount>(std::move(a));
    }
  }
  if (!cached || cached->is_error())  // Redis away: do not turn a Redis outage into Airtable calls
    co_return airtable::Error(airtable::ErrorKind::not_sent, 0, "REDIS", "the account cache is unreachable");
  if (auto it = lookups_.find(account); it != lookups_.end()) {
    const auto lookup = it->second;
    co_await lookup->done.wait();
    if (lookup->answer) co_return *lookup->answer;
    // This job was cancelled while it waited.
    co_return airtable::Error(airtable::ErrorKind::not_sent, 0, "CANCELLED", "the account lookup was cancelled");
  }
  auto lookup = std::make_shared<Lookup>(co_await net::asio::this_coro::executor);
  lookups_[account] = lookup;
  // However this read ends (an answer, an error, or this job's cancellation, which throws out of the
  // read at its next step), the jobs waiting for it are answered and the next miss reads again.
  // Without this, a job whose lease was lost mid-read left every later job of the account waiting.
  const LookupEnd end{lookups_, account, lookup};
  auto answer = co_await read_through(account);
  lookup->answer = answer;
  co_return answer;
}

AccountCache::LookupEnd::~LookupEnd() {
  if (!lookup->answer)
    lookup->answer = airtable::Error(airtable::ErrorKind::not_sent, 0, "CANCELLED", "the account lookup was cancelled");
  lookup->done.set();
  if (const auto it = lookups.find(account); it != lookups.end() && it->second == lookup) lookups.erase(it);
}

net::awaitable<AccountCache::Answer> AccountCache::read_through(const std::string& account) {
  // A miss: one call for the row named by its key or its id.
  airtable::ListQuery q;
  q.formula = "OR({" + std::string(f::kAccountKey) + "}=" + airtable::formula_text(account) +
              ",RECORD_ID()=" + airtable::formula_text(account) + ")";
  q.max_records = 1;
  q.page_size = 1;
  ++reads_;
  auto rows = co_await airtable_.list(options_.table, q);
  if (!rows) co_return rows.error();
  std::optional<CachedAccount> found;
  if (!rows->empty()) {
    CachedAccount a;
    a.record_id = rows->front().id;
    a.fields = rows->front().fields;
    a.fetched_at_ms = now_epoch_ms();
    found = std::move(a);
  }
  co_await store(account, found);
  co_return found;
}

net::awaitable<airtable::Result<long long>> AccountCache::sweep() {
  ++reads_;
  const airtable::ListQuery all;  // a named local: GCC 12 mishandles temporaries in a co_await operand
  auto rows = co_await airtable_.list(options_.table, all);
  if (!rows) co_return rows.error();
  const auto now = now_epoch_ms();
  for (const auto& r : *rows) {
    CachedAccount a{r.id, r.fields, now};
    co_await store(r.id, a);
    if (r.fields.contains(f::kAccountKey) && r.fields[f::kAccountKey].is_string())
      co_await store(r.fields[f::kAccountKey].get<std::string>(), a);
  }
  co_return static_cast<long long>(rows->size());
}

net::awaitable<void> AccountCache::run_sweeper(net::Event& stop) {
  if (options_.sweep_every.count() <= 0) co_return;
  using namespace boost::asio::experimental::awaitable_operators;
  const auto every_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.sweep_every).count();
  net::Timer timer(co_await net::asio::this_coro::executor);
  while (!stop.is_set()) {
    auto lock = co_await redis_.exec("SET", keys_.account_sweep_lock(), "1", "NX", "PX", std::to_string(every_ms));
    if (lock && lock->is_string()) {
      auto n = co_await sweep();
      if (n)
        log::info("accounts: swept {} row(s) from Airtable into the cache", *n);
      else
        log::warn("accounts: sweep failed: {}", n.error().describe());
    }
    // Another daemon holds the lock (or this one just swept): look again when it expires.
    timer.expires_after(std::chrono::milliseconds(every_ms / 4 + 1));
    co_await (timer.async_wait() || stop.wait());
  }
}

std::function<net::awaitable<std::optional<jobs::Outcome>>(const jobs::Job&)> account_preflight(AccountCache& cache) {
  return [&cache](const jobs::Job& job) -> net::awaitable<std::optional<jobs::Outcome>> {
    if (job.type != jobs::JobType::publish && job.type != jobs::JobType::fetch_analytics) co_return std::nullopt;
    auto account = co_await cache.get(job.account);
    // Unknown (Airtable or Redis away) or not in the table: the job goes on; its token lookup decides.
    if (!account || !*account) co_return std::nullopt;
    const auto status = (*account)->status();
    if (status == "needs_reauth" || status == "needs_reconnect" || status == "revoked" || status == "disconnected") {
      co_return jobs::Outcome::fail("The " + std::string(jobs::to_string(job.platform)) + " account \"" + job.account +
                                        "\" must be reconnected before it can be used (its status is " + status + ").",
                                    "account_needs_reauth");
    }
    co_return std::nullopt;
  };
}

}  // namespace schedulo::outbox
