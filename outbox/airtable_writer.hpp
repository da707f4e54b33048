#pragma once
// The Airtable writer: drains the outbox's airtable:* destinations into the base (architecture
// rules 7 and 9). Each daemon runs a few lanes; every lane
//   1. looks at what is due, Accounts first, then Posts, Events, and Analytics last, preferring a
//      destination with a full batch of 10 and waiting `linger` before sending a partial one;
//   2. waits for the fleet-wide pace (outbox/pacing.hpp) and the month's budget (Analytics only
//      while it is not in the reserve);
//   3. claims up to 10 items and upserts them in one request (on their key field, typecast on);
//      a request refused for a record is split until that record stands alone (platforms/airtable);
//   4. acks: written items leave the outbox; refused ones go to the dead outbox with the reason and
//      an Events row; the rest wait (429: the base pauses 30 s for the whole fleet; an outage backs
//      off and is retried, with only one batch in this daemon's memory per lane, the rest in Redis).
// A daemon killed between the write and the ack leaves a claim that goes back at its deadline (or
// at once when the same worker restarts): written again, which an upsert by key makes harmless.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/net.hpp"
#include "outbox/pacing.hpp"
#include "platforms/airtable/client.hpp"
#include "queue/outbox.hpp"

namespace schedulo::http {
class HttpClient;
}

namespace schedulo::outbox {

struct WriterOptions {
  std::string worker_id;
  std::map<std::string, std::string> tables;  // dest ("airtable:posts") -> the base's table name
  int lanes = 2;                              // batches in flight at once in this daemon
  std::chrono::milliseconds linger{500};      // a partial batch waits this long for more
  std::chrono::milliseconds idle_poll{250};
  std::chrono::milliseconds claim_for{120'000};
  std::chrono::milliseconds rate_limit_pause{30'000};  // Airtable: wait 30 s after a 429
  std::chrono::milliseconds backoff_min{1000};
  std::chrono::milliseconds backoff_max{60'000};
  std::chrono::milliseconds config_problem_wait{300'000};  // 401/403: the token or the base is wrong
  std::chrono::milliseconds reclaim_every{5000};
  // Airtable failing this long (transient errors, no answer) becomes an airtable_unreachable
  // notification (notifications.airtable_unreachable_after_ms).
  std::chrono::milliseconds unreachable_after{600'000};
  bool typecast = true;
  // notifications.webhook_url: each notification also becomes a webhook request (outbox dest
  // bubble:callback, delivered by the callback sender) beside its Events row. Empty: none.
  std::string webhook_url;
};

struct WriterCounters {
  std::uint64_t batches = 0, written = 0, rejected = 0, retried = 0, calls = 0, rate_limited = 0, lost = 0;
};

class AirtableWriter {
 public:
  AirtableWriter(queue::Outbox& outbox, http::HttpClient& http, airtable::ClientConfig config, AirtablePacer& pacer,
                 WriterOptions options);
  ~AirtableWriter();

  // Runs until stop(); then keeps writing what is due until nothing is or the flush time is over.
  net::awaitable<void> run();
  void stop(std::chrono::milliseconds flush_for = {});
  const WriterCounters& counters() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace schedulo::outbox
