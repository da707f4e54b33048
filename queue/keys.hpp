#pragma once
// Every Redis key name of a deployment is built here, under its prefix (redis.prefix). The Lua
// scripts build the same names in lua/includes/common.lua; QueueKeysTest checks that both agree.
// A bridge such as Webdis writes to inbox() and control() by name: they are external interface.
#include <string>
#include <string_view>

namespace schedulo::queue {

class Keys {
 public:
  explicit Keys(std::string prefix) : prefix_(std::move(prefix)) {}
  const std::string& prefix() const { return prefix_; }

  std::string inbox() const { return prefix_ + ":inbox"; }      // LPUSH <job-json>
  std::string control() const { return prefix_ + ":control"; }  // LPUSH {"op":"cancel"|"replace",...}
  std::string job(std::string_view id) const { return at(":job:", id); }             // hash
  std::string tombstone(std::string_view id) const { return at(":tomb:", id); }      // final state, TTL
  std::string attempt_log(std::string_view id) const { return at(":log:", id); }     // list of JSON
  std::string pending_cancel(std::string_view id) const { return at(":cancel:", id); }
  std::string ready(std::string_view platform) const { return at(":ready:", platform); }  // list
  std::string held(std::string_view platform, std::string_view account) const {
    return at(":held:", platform) + ":" + std::string(account);
  }
  std::string by_account(std::string_view platform, std::string_view account) const {
    return at(":account:", platform) + ":" + std::string(account);  // zset of ids by creation
  }
  std::string total(std::string_view state) const { return at(":total:", state); }
  std::string scheduled() const { return prefix_ + ":scheduled"; }  // zset id -> due ms
  std::string leases() const { return prefix_ + ":leases"; }        // zset id -> lease deadline ms
  std::string dead() const { return prefix_ + ":dead"; }            // zset id -> finished ms
  std::string jobs() const { return prefix_ + ":jobs"; }            // zset id -> created ms
  std::string paused() const { return prefix_ + ":paused"; }        // set of platform, platform:account
  std::string running_accounts() const { return prefix_ + ":running_accounts"; }
  std::string sequence() const { return prefix_ + ":seq"; }
  // Per-worker work lists for entries claimed from the inbox and the control list.
  std::string intake_work(std::string_view worker) const { return at(":intake:", worker); }
  std::string control_work(std::string_view worker) const { return at(":controlwork:", worker); }
  std::string worker_alive(std::string_view worker) const { return at(":worker:", worker); }  // TTL
  std::string workers() const { return prefix_ + ":workers"; }  // set of ids that have beaten

  // Token core (tokens/). An account's token record: a hash of sealed tokens, expiries, scopes, status
  // and version (tokens/token_store.hpp); its refresh lock (a string "<owner>/<fence>" with a TTL).
  std::string token(std::string_view platform, std::string_view account) const {
    return at(":token:", platform) + ":" + std::string(account);
  }
  std::string token_lock(std::string_view platform, std::string_view account) const {
    return at(":tokenlock:", platform) + ":" + std::string(account);
  }
  std::string token_accounts() const { return prefix_ + ":tokens:accounts"; }  // zset "platform:account", 0
  std::string token_access_expiry() const { return prefix_ + ":tokens:access_expiry"; }    // zset -> ms
  std::string token_refresh_expiry() const { return prefix_ + ":tokens:refresh_expiry"; }  // zset -> ms

  // ---- the outbox (queue/outbox.hpp): one pending record per (dest, key), coalesced ----------------
  // An item's id is "<dest>|<key>" (dest never holds '|').
  std::string outbox_queue(std::string_view dest) const { return at(":outbox:queue:", dest); }  // zset key -> due ms
  std::string outbox_item(std::string_view item) const { return at(":outbox:item:", item); }    // hash
  std::string outbox_dead_item(std::string_view item) const { return at(":outbox:deaditem:", item); }  // hash
  std::string outbox_history(std::string_view item) const { return at(":outbox:history:", item); }     // list
  std::string outbox_guard(std::string_view item) const { return at(":outbox:guard:", item); }         // newest version
  std::string outbox_claimed() const { return prefix_ + ":outbox:claimed"; }  // zset item -> claim deadline ms
  std::string outbox_dead() const { return prefix_ + ":outbox:dead"; }        // zset item -> dead at ms
  std::string outbox_dests() const { return prefix_ + ":outbox:dests"; }      // set of dest names seen
  // An external API's calls counted per month, and the month's warning flag (call_budget.lua).
  std::string calls(std::string_view counter) const { return at(":calls:", counter); }
  std::string calls_warned(std::string_view counter) const { return at(":callswarned:", counter); }
  // An Accounts row cached from Airtable (outbox/account_cache.hpp), by Account Key or record id.
  std::string account_cache(std::string_view account) const { return at(":accountcache:", account); }
  std::string account_sweep_lock() const { return prefix_ + ":accountsweep"; }  // one sweeper per fleet
  // Notifications (notifications()) a writer took and has not turned into Events rows yet.
  std::string notification_work(std::string_view worker) const { return at(":notifywork:", worker); }
  // ---- rate limits, circuit breakers, notifications (issue 5) ----
  // A rate-limit bucket: hash {tat, blocked_until, usage, usage_until, regain_at}, PEXPIRE'd once idle.
  std::string rate_bucket(std::string_view platform, std::string_view scope, std::string_view key) const {
    return at(":rate:", platform) + ":" + std::string(scope) + ":" + std::string(key);
  }
  std::string breaker(std::string_view platform) const { return at(":breaker:", platform); }  // hash
  // Notification records (JSON, LPUSH; the outbox drains from the right, oldest first).
  std::string notifications() const { return prefix_ + ":notifications"; }
  // Set while a notification of `kind` about `subject` (an account, or a platform) was sent in the window.
  std::string notified(std::string_view kind, std::string_view subject) const {
    return at(":notified:", kind) + ":" + std::string(subject);
  }
  std::string settings() const { return prefix_ + ":settings"; }  // hash of fleet-wide settings
  // ---- token lifecycle (issue 13): OAuth connect flow and the sweep ----
  // A connect flow's state: JSON {platform, account, return_to, verifier}, PX oauth.state_ttl_s,
  // taken once with GETDEL (a replayed state finds nothing).
  std::string oauth_state(std::string_view nonce) const { return at(":oauth:state:", nonce); }
  // A Meta connection waiting for the user's choice of Page / Instagram account: sealed JSON, PX TTL.
  std::string oauth_pending(std::string_view id) const { return at(":oauth:pending:", id); }
  std::string sweep_lease() const { return prefix_ + ":sweep:lease"; }    // the sweep leader's id, PX
  std::string sweep_checks() const { return prefix_ + ":sweep:checks"; }  // zset "platform:account" -> next check ms
  std::string sweep_cursor() const { return prefix_ + ":sweep:cursor"; }  // last account the discovery pass saw
  // ---- the limiter across a failover or restart (issue 16) ----
  // Hash {id, since}: the server identity (redis::ClientStats::server_id) the buckets were last
  // written under, and when it took over (rate_acquire.lua holds every bucket back one period then).
  std::string rate_epoch() const { return prefix_ + ":rateepoch"; }

 private:
  std::string at(std::string_view middle, std::string_view tail) const {
    std::string s = prefix_;
    s += middle;
    s += tail;
    return s;
  }
  std::string prefix_;
};

}  // namespace schedulo::queue
