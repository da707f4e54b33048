#pragma once
// Account data for the job path comes from Redis, never from Airtable (architecture rule 9): an
// Accounts row is read from Airtable only on a miss (one call, then cached; a missing row is
// remembered for a while too) or by the sweep, which one daemon of the fleet runs now and then to
// refresh every row in pages of 100.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/event.hpp"
#include "common/net.hpp"
#include "jobs/job.hpp"
#include "jobs/outcome.hpp"
#include "platforms/airtable/client.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"

namespace schedulo::outbox {

struct CachedAccount {
  std::string record_id;
  nlohmann::json fields = nlohmann::json::object();  // the row's fields as Airtable answered them
  std::int64_t fetched_at_ms = 0;
  std::string status() const;  // "Status", or ""
};

struct AccountCacheOptions {
  std::string table = "Accounts";
  std::chrono::seconds ttl{7 * 24 * 3600};     // a row read stays this long (sweeps renew it)
  std::chrono::seconds missing_ttl{300};       // a key not in the table is not asked again before
  std::chrono::seconds sweep_every{6 * 3600};  // 0 = no sweep
};

class AccountCache {
 public:
  AccountCache(redis::Client& redis, queue::Keys keys, airtable::Client& airtable, AccountCacheOptions options);

  // By Account Key or record id: Redis, then Airtable on a miss. A value without an account means the
  // table has no such row; an error means neither could tell (callers then go on without it).
  net::awaitable<airtable::Result<std::optional<CachedAccount>>> get(const std::string& account);
  // Reads every Accounts row into the cache; the number of rows.
  net::awaitable<airtable::Result<long long>> sweep();
  // Sweeps every sweep_every while this daemon holds the fleet's sweep lock; until stop.
  net::awaitable<void> run_sweeper(net::Event& stop);
  // Airtable reads made by this cache (misses and sweep pages).
  long long airtable_reads() const { return reads_; }

 private:
  using Answer = airtable::Result<std::optional<CachedAccount>>;
  // One Airtable read per missing account at a time in this daemon: jobs of that account that miss
  // meanwhile wait for its answer.
  struct Lookup {
    explicit Lookup(const net::Executor& ex) : done(ex) {}
    net::Event done;
    std::optional<Answer> answer;
  };
  // Ends the lookup its scope started, also when the read throws.
  struct LookupEnd {
    std::map<std::string, std::shared_ptr<Lookup>>& lookups;
    std::string account;
    std::shared_ptr<Lookup> lookup;
    ~LookupEnd();
  };
  net::awaitable<void> store(const std::string& key, const std::optional<CachedAccount>& account);
  net::awaitable<Answer> read_through(const std::string& account);
  std::map<std::string, std::shared_ptr<Lookup>> lookups_;

  redis::Client& redis_;
  queue::Keys keys_;
  airtable::Client& airtable_;
  AccountCacheOptions options_;
  long long reads_ = 0;
};

// The dispatcher's preflight (jobs::DispatcherOptions::preflight): a publish or analytics job of an
// account whose row says it must be reconnected fails at once with a message saying so.
std::function<net::awaitable<std::optional<jobs::Outcome>>(const jobs::Job&)> account_preflight(AccountCache& cache);

}  // namespace schedulo::outbox
