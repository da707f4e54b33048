#pragma once
// The outbox: every output of the daemon (Airtable rows, Bubble callbacks, notifications) waits here,
// in Redis, until a writer delivers it (architecture rules 7 and 9). What it guarantees:
// - appended atomically with what caused it: a job's outcome (Settle::outbox, queue/store.hpp), or a
//   caller's own step (Outbox::append, which can also trim the work list the entries came from);
// - one pending item per (dest, key): pending writes to the same record coalesce, the newest value of
//   each field winning, so ten appends to one Posts row cost one write;
// - drained at least once by any number of daemons: claim gives items to one writer with a deadline,
//   ack ends the claim (fenced by its token), and claims whose writer died go back (reclaim);
//   written exactly once in effect because writers upsert by key;
// - a permanently rejected item goes to the dead outbox with its reason (list, retry by an operator);
// - a guard (a version number per record) keeps an older value from replacing a newer one appended
//   earlier, even after that one was written: token rotations use it.
// Nothing here knows Airtable: a dest is a name ("airtable:posts", "bubble", ...) and fields are
// names with JSON values; outbox/ turns them into requests.
#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/net.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"
#include "queue/store.hpp"

namespace schedulo::queue {

struct OutboxEntry {
  std::string dest;  // [a-z0-9_.:-]+; never '|'
  std::string key;   // the record's key within dest (what writers upsert on)
  // Field name -> value as JSON text ("\"text\"", "42", "true", "null" clears the field).
  std::vector<std::pair<std::string, std::string>> fields;
  std::string record_id;  // optional: the destination's own id of the record (Airtable rec...)
  // Optional: appends `line` to a list kept per record (the last `keep` lines, 90 days) and sets
  // `field` to those lines joined by newlines (Analytics' bounded history).
  struct History {
    std::string field;
    std::string line;
    int keep = 20;
  };
  std::optional<History> history;
  // Optional: a version; the entry is dropped when an entry with a higher one was appended to the
  // same record before (token versions: a newer token is never replaced by an older one).
  std::optional<std::int64_t> guard;
  std::int64_t due_ms = 0;  // not delivered before this time (0 = now)
  // Only with a job's creation or replacement: fields appended to the same record if that job is
  // cancelled before it starts (its Posts row then says cancelled).
  std::vector<std::pair<std::string, std::string>> on_cancel;

  // Sets a field from any JSON value.
  OutboxEntry& set(std::string name, const nlohmann::json& value) {
    fields.emplace_back(std::move(name), value.dump());
    return *this;
  }
};

// The JSON text Settle::outbox and Outbox::append carry: the entries, and jobs to create in the same
// step (follow-ups; idempotent by id, run_at_ms 0 = now).
std::string encode_outbox(const std::vector<OutboxEntry>& entries, const std::vector<NewJob>& jobs = {});

struct OutboxItem {
  std::string dest, key;
  std::uint64_t token = 0;  // the claim; ack with it
  int attempts = 0;         // earlier failed deliveries (retry verdicts)
  std::string record_id;
  std::int64_t first_at_ms = 0;  // when the oldest write now merged in this item was appended
  std::vector<std::pair<std::string, std::string>> fields;  // name -> JSON text
};

struct OutboxClaim {
  std::vector<OutboxItem> items;
  long long due_left = 0;  // due items of that dest still waiting
};

struct OutboxAck {
  enum class Verdict { ok, retry, dead };
  std::string dest, key;
  std::uint64_t token = 0;
  Verdict verdict = Verdict::ok;
  std::int64_t due_ms = 0;  // retry: not before
  std::string reason;       // retry, dead: why (kept on the item)
  std::string entries;      // encode_outbox(...) appended in the same step ('' = none)
};

struct OutboxStats {
  std::map<std::string, long long> pending;  // per dest, due or not
  std::map<std::string, long long> due;      // per dest, due now
  long long claimed = 0, dead = 0;
  std::int64_t oldest_due_age_ms = 0;  // how long the oldest due item has waited past its due time
};

struct DeadOutboxItem {
  std::string item;                         // "<dest>|<key>"
  std::map<std::string, std::string> hash;  // reason, dead_at, attempts, last_error, f:<field>...
};

class Outbox {
 public:
  Outbox(redis::Client& client, Keys keys, QueueSettings settings = {});
  const Keys& keys() const { return keys_; }
  redis::Client& client() { return client_; }

  // Appends entries (and creates the jobs) in one step; when `work_list` is given, also drops its
  // first `handled` entries (what the entries were made from). Returns the entries dropped as stale.
  net::awaitable<Result<long long>> append(const std::vector<OutboxEntry>& entries, std::int64_t now,
                                           const std::vector<NewJob>& jobs = {}, const std::string& work_list = {},
                                           std::size_t handled = 0);
  // Up to `max` due items of one dest, claimed by `worker` until now + claim_for.
  net::awaitable<Result<OutboxClaim>> claim(const std::string& dest, int max, const std::string& worker,
                                            std::chrono::milliseconds claim_for, std::int64_t now);
  // Per ack: "done", "requeued" (newer fields arrived meanwhile), "retry", "dead", or "lost" (the
  // claim had passed to another writer: this one's verdict is dropped).
  net::awaitable<Result<std::vector<std::string>>> ack(const std::vector<OutboxAck>& acks, std::int64_t now);
  // Claims past their deadline go back; with `worker`, every claim of that worker (a restart).
  net::awaitable<Result<long long>> reclaim(std::int64_t now, const std::string& worker = {}, int max = 1000);

  net::awaitable<Result<OutboxStats>> stats(std::int64_t now);
  net::awaitable<Result<std::vector<DeadOutboxItem>>> dead_list(int limit);
  net::awaitable<Result<long long>> dead_retry(const std::vector<std::string>& items, std::int64_t now);
  // Moves up to `max` entries from the right (oldest) end of `source` to `work` and returns them,
  // oldest first; entries a crashed run left in `work` come back first (queue/lua/claim.lua). The
  // caller appends what it made of them with append(..., work, handled).
  net::awaitable<Result<std::vector<std::string>>> take(const std::string& source, const std::string& work, int max);
  // Due counts of the given dests (one round trip): what a writer looks at to choose its next batch.
  net::awaitable<Result<std::vector<long long>>> due_counts(const std::vector<std::string>& dests, std::int64_t now);

 private:
  net::awaitable<redis::Reply> run(std::string_view script, redis::Args args);

  redis::Client& client_;
  Keys keys_;
  QueueSettings settings_;
};

}  // namespace schedulo::queue
