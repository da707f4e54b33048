#include "outbox/airtable_writer.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <optional>

#include "common/event.hpp"
#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "outbox/records.hpp"
#include "platforms/airtable/schema.hpp"
#include "platforms/errors/outage_watch.hpp"
#include "queue/notifier.hpp"

namespace schedulo::outbox {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using std::chrono::milliseconds;
using json = nlohmann::json;

namespace {

constexpr int kBatch = static_cast<int>(airtable::kMaxRecordsPerRequest);
constexpr milliseconds kBudgetRecheck{600'000};

// Writing order: what users and tokens depend on first, metrics last (rule 9, the budget's reserve).
const std::vector<std::string>& dests_by_priority() {
  static const std::vector<std::string> d{std::string(airtable::kAccountsDest), std::string(airtable::kPostsDest),
                                          std::string(airtable::kEventsDest), std::string(airtable::kAnalyticsDest)};
  return d;
}

std::string table_label(const std::string& dest) {
  return dest.substr(dest.find(':') + 1);
}

}  // namespace

struct AirtableWriter::State {
  State(queue::Outbox& ob, http::HttpClient& h, airtable::ClientConfig c, AirtablePacer& p, WriterOptions opts)
      : outbox(ob),
        http(h),
        config(std::move(c)),
        pacer(p),
        o(std::move(opts)),
        notifier(ob.client(), ob.keys()),
        outage(o.unreachable_after) {}

  queue::Outbox& outbox;
  http::HttpClient& http;
  airtable::ClientConfig config;
  AirtablePacer& pacer;
  WriterOptions o;
  WriterCounters counters;
  std::optional<net::Event> stop_event;
  bool stopping = false;
  std::chrono::steady_clock::time_point flush_until{};
  std::int64_t analytics_blocked_until = 0;  // the budget's reserve is reached: Analytics wait
  std::optional<BudgetState> warning;        // to record as an Events row
  queue::Notifier notifier;
  errors::OutageWatch outage;  // how long Airtable has been failing

  // Sleeps, waking early on stop (the flush then decides what is left to do).
  net::awaitable<void> pause(milliseconds d) {
    if (stopping)
      d = std::min(d, std::chrono::duration_cast<milliseconds>(flush_until - std::chrono::steady_clock::now()));
    if (d.count() <= 0) co_return;
    net::Timer t(co_await asio::this_coro::executor);
    t.expires_after(d);
    if (stopping) {
      co_await t.async_wait();
    } else {
      co_await (t.async_wait() || stop_event->wait());
    }
  }

  bool flush_over() const { return stopping && std::chrono::steady_clock::now() >= flush_until; }

  milliseconds backoff_after(int failures, const airtable::Error& e) const {
    milliseconds d = o.backoff_min;
    for (int i = 1; i < failures && d < o.backoff_max; ++i) d *= 2;
    d = std::min(d, o.backoff_max);
    if (e.retry_after) d = std::max(d, *e.retry_after);
    return d;
  }

  // How long items wait after a call stopped the batch (not a record's fault).
  net::awaitable<milliseconds> wait_for(const airtable::Error& e, int failures) {
    switch (e.kind) {
      case airtable::ErrorKind::rate_limited:
        ++counters.rate_limited;
        co_await pacer.pause(o.rate_limit_pause);
        log::warn("airtable: 429 {}: pausing base {} for {} s (whole fleet)", e.type, config.base_id,
                  o.rate_limit_pause.count() / 1000);
        co_return o.rate_limit_pause;
      case airtable::ErrorKind::quota_exhausted:
        log::error("airtable: the plan's monthly API calls are used up ({}); writes wait", e.describe());
        co_return kBudgetRecheck;
      case airtable::ErrorKind::auth:
      case airtable::ErrorKind::permission:
        log::error(
            "airtable: {} (check airtable.token, airtable.base_id and the tables: schedulo airtable check); "
            "writes wait",
            e.describe());
        co_return o.config_problem_wait;
      case airtable::ErrorKind::not_sent: {
        if (e.type == "BUDGET") {
          const auto now = now_epoch_ms();
          co_return milliseconds(
              std::min<std::int64_t>(AirtablePacer::month_end_ms(now) - now, kBudgetRecheck.count()));
        }
        co_return o.backoff_min;
      }
      default: {
        const auto d = backoff_after(failures, e);
        log::warn("airtable: {}; retrying in {} ms", e.describe(), d.count());
        co_return d;
      }
    }
  }

  // One batch: claim, write, ack. Returns how long this lane should wait before the next one.
  net::awaitable<milliseconds> write_one(airtable::Client& client, bool& prepaid, const std::string& dest,
                                         int& failures) {
    const auto now = now_epoch_ms();
    auto claim = co_await outbox.claim(dest, kBatch, o.worker_id, o.claim_for, now);
    if (!claim) {
      log::warn("outbox: claim failed: {}", claim.error().message());
      prepaid = false;
      co_return o.backoff_min;
    }
    if (claim->items.empty()) {  // another lane or daemon took them
      prepaid = false;
      co_return milliseconds(0);
    }
    const airtable::TableSpec* spec = airtable::spec_for_dest(dest);
    const auto table_it = o.tables.find(dest);
    const std::string table = table_it != o.tables.end() ? table_it->second : std::string(spec->logical);
    std::vector<airtable::WriteRecord> records;
    records.reserve(claim->items.size());
    for (const auto& item : claim->items) {
      airtable::WriteRecord r;
      r.id = item.record_id;
      for (const auto& [name, value] : item.fields) {
        auto v = json::parse(value, nullptr, false);
        r.fields[name] = v.is_discarded() ? json(value) : std::move(v);
      }
      records.push_back(std::move(r));
    }
    const std::vector<std::string> merge_on{std::string(spec->key_field)};
    const auto result = co_await client.write_batch(table, merge_on, records, o.typecast);
    prepaid = false;
    ++counters.batches;
    counters.calls += static_cast<std::uint64_t>(result.calls);

    milliseconds lane_wait{0};
    std::int64_t retry_due = now_epoch_ms();
    if (result.stopped && result.stopped->type == "BUDGET" && dest == airtable::kAnalyticsDest) {
      // Only the reserve is left: Analytics wait for the next month (or a larger budget); the lane
      // goes on with Posts, Accounts and Events at once.
      analytics_blocked_until = retry_due + kBudgetRecheck.count();
      retry_due = std::min(AirtablePacer::month_end_ms(retry_due), analytics_blocked_until);
      log::warn("airtable: {}; Analytics rows wait, Posts and Accounts go on", result.stopped->message);
    } else if (result.stopped) {
      ++failures;
      lane_wait = co_await wait_for(*result.stopped, failures);
      retry_due += lane_wait.count();
      if (result.stopped->kind == airtable::ErrorKind::transient ||
          result.stopped->kind == airtable::ErrorKind::bad_answer)
        co_await outage_seen();
    } else {
      failures = 0;
      outage.success();
    }
    const auto acked_at = now_epoch_ms();
    std::vector<queue::OutboxAck> acks;
    for (std::size_t i = 0; i < claim->items.size(); ++i) {
      const auto& item = claim->items[i];
      const auto& r = result.records[i];
      queue::OutboxAck a{item.dest, item.key, item.token, queue::OutboxAck::Verdict::ok, 0, {}, {}};
      if (r.state == airtable::RecordResult::State::rejected) {
        a.verdict = queue::OutboxAck::Verdict::dead;
        a.reason = r.error ? r.error->describe() : "refused";
        ++counters.rejected;
        log::error("airtable: {} row {} refused: {}; kept in the dead outbox", table_label(dest), item.key, a.reason);
        if (dest != airtable::kEventsDest) {
          const std::string message = "Airtable refused the " + table + " row \"" + item.key + "\": " + a.reason +
                                      ". It is kept in the dead outbox (schedulo outbox dead list; after fixing the "
                                      "table, schedulo outbox dead retry).";
          a.entries = queue::encode_outbox(
              {event_entry("outbox-dead:" + dest + "|" + item.key, "error", r.error ? r.error->type : "REFUSED",
                           message, acked_at, dest == airtable::kPostsDest ? item.key : std::string())});
        }
      } else if (r.state == airtable::RecordResult::State::not_written) {
        a.verdict = queue::OutboxAck::Verdict::retry;
        a.due_ms = retry_due;
        a.reason = r.error ? r.error->describe() : "not written";
        ++counters.retried;
      } else {
        ++counters.written;
      }
      acks.push_back(std::move(a));
    }
    auto acked = co_await outbox.ack(acks, acked_at);
    if (!acked) {
      // The claims go back at their deadline and are written again (an upsert: no duplicate).
      log::warn("outbox: ack of {} items failed: {}", acks.size(), acked.error().message());
    } else {
      for (const auto& v : *acked)
        if (v == "lost") ++counters.lost;
    }
    co_return lane_wait;
  }

  // The destination of the next batch, or empty when nothing is worth a call yet.
  net::awaitable<std::string> choose(std::optional<std::chrono::steady_clock::time_point>& partial_since,
                                     bool& nothing_due) {
    const auto now = now_epoch_ms();
    std::vector<std::string> dests;
    for (const auto& d : dests_by_priority())
      if (d != airtable::kAnalyticsDest || now >= analytics_blocked_until) dests.push_back(d);
    nothing_due = false;
    auto counts = co_await outbox.due_counts(dests, now);
    if (!counts) co_return std::string();
    for (std::size_t i = 0; i < dests.size(); ++i)
      if ((*counts)[i] >= kBatch) {
        partial_since.reset();
        co_return dests[i];
      }
    for (std::size_t i = 0; i < dests.size(); ++i) {
      if ((*counts)[i] == 0) continue;
      const auto t = std::chrono::steady_clock::now();
      if (!partial_since) partial_since = t;
      if (stopping || t - *partial_since >= o.linger) {
        partial_since.reset();
        co_return dests[i];
      }
      co_return std::string();
    }
    partial_since.reset();
    nothing_due = true;
    co_return std::string();
  }

  net::awaitable<void> lane(int index) {
    bool prepaid = false;
    CallClass call_class = CallClass::essential;
    // The first call of a batch took its rate slot before the claim and pays its budget here; the
    // splits of a refused batch are paced and counted like any other call.
    airtable::Client client(http, config,
                            [this, &prepaid, &call_class]() -> net::awaitable<std::optional<airtable::Error>> {
                              if (prepaid) {
                                prepaid = false;
                                co_return co_await pacer.charge(call_class);
                              }
                              co_return co_await pacer.acquire(call_class);
                            });
    std::optional<std::chrono::steady_clock::time_point> partial_since;
    int failures = 0;
    auto last_reclaim = std::chrono::steady_clock::now();
    while (!flush_over()) {
      if (index == 0 && std::chrono::steady_clock::now() - last_reclaim >= o.reclaim_every) {
        last_reclaim = std::chrono::steady_clock::now();
        auto back = co_await outbox.reclaim(now_epoch_ms());
        if (back && *back > 0) log::info("outbox: {} claim(s) of a stopped writer went back", *back);
      }
      co_await record_warning();
      if (index == 0) co_await pump_notifications();
      bool nothing_due = false;
      const std::string dest = co_await choose(partial_since, nothing_due);
      if (dest.empty()) {
        if (stopping && nothing_due) break;  // flushed
        const auto wait = partial_since ? std::min(o.idle_poll, o.linger) : o.idle_poll;
        co_await pause(wait);
        continue;
      }
      call_class = dest == airtable::kAnalyticsDest ? CallClass::low : CallClass::essential;
      auto refused = co_await pacer.take_slot();
      if (refused) {
        co_await pause(co_await wait_for(*refused, ++failures));
        continue;
      }
      prepaid = true;
      const auto wait = co_await write_one(client, prepaid, dest, failures);
      if (wait.count() > 0 && !flush_over()) co_await pause(wait);
    }
  }

  // Airtable down (or answering garbage) for longer than allowed: one notification per outage; it
  // reaches the Events table, like every notification, once Airtable answers again.
  net::awaitable<void> outage_seen() {
    outage.failure();
    if (!outage.due()) co_return;
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(o.unreachable_after).count();
    queue::Notification n;
    n.kind = queue::notification_kind::airtable_unreachable;
    n.subject = "airtable:" + config.base_id;
    n.platform = "airtable";
    n.message = "Airtable has not accepted writes for more than " + std::to_string(minutes) +
                " minutes; job outcomes wait in the outbox and are written once it answers again.";
    n.action = "Check Airtable's status, the base and the token (schedulo airtable check).";
    n.error_code = "airtable_unreachable";
    auto r = co_await notifier.notify(n);
    if (!r) log::warn("airtable: could not record the airtable_unreachable notification");
    log::error("airtable: unreachable for more than {} minutes", minutes);
  }

  // Notification records (issue 5's queue::Notifier, <prefix>:notifications) become Events rows: taken
  // to this worker's work list, then appended to the outbox and dropped from the list in one step.
  net::awaitable<void> pump_notifications() {
    const auto& keys = outbox.keys();
    for (int round = 0; round < 10; ++round) {
      auto taken = co_await outbox.take(keys.notifications(), keys.notification_work(o.worker_id), 100);
      if (!taken || taken->empty()) co_return;
      const auto now = now_epoch_ms();
      std::vector<queue::OutboxEntry> entries;
      for (const auto& record : *taken) {
        if (auto e = notification_entry(record, now)) entries.push_back(std::move(*e));
        if (!o.webhook_url.empty())
          if (auto w = notification_webhook_entry(record, o.webhook_url, now)) entries.push_back(std::move(*w));
      }
      auto r = co_await outbox.append(entries, now, {}, keys.notification_work(o.worker_id), taken->size());
      if (!r) co_return;  // they stay in the work list and are taken again
      if (taken->size() < 100) co_return;
    }
  }

  net::awaitable<void> record_warning() {
    if (!warning) co_return;
    const BudgetState st = *warning;
    warning.reset();
    const auto now = now_epoch_ms();
    char percent[16];
    std::snprintf(percent, sizeof percent, "%.0f", st.used_percent);
    const std::string message = "This deployment has used " + std::to_string(st.calls) + " of its " +
                                std::to_string(st.budget) + " Airtable calls for " + st.month + " (" + percent +
                                " %). Near the budget, Posts and Accounts are written before Analytics.";
    log::warn("airtable: {}", message);
    const std::vector<queue::OutboxEntry> event{
        event_entry("airtable-budget:" + config.base_id + ":" + st.month, "warning", "airtable_budget", message, now)};
    auto r = co_await outbox.append(event, now);
    if (!r) warning = st;  // try again on the next turn
  }
};

AirtableWriter::AirtableWriter(queue::Outbox& outbox, http::HttpClient& http, airtable::ClientConfig config,
                               AirtablePacer& pacer, WriterOptions options)
    : state_(std::make_unique<State>(outbox, http, std::move(config), pacer, std::move(options))) {
  state_->pacer.on_warning = [s = state_.get()](const BudgetState& st) { s->warning = st; };
}

AirtableWriter::~AirtableWriter() {
  state_->pacer.on_warning = nullptr;
}

const WriterCounters& AirtableWriter::counters() const {
  return state_->counters;
}

void AirtableWriter::stop(std::chrono::milliseconds flush_for) {
  auto& s = *state_;
  if (s.stopping) return;
  s.stopping = true;
  s.flush_until = std::chrono::steady_clock::now() + flush_for;
  if (s.stop_event) s.stop_event->set();
}

net::awaitable<void> AirtableWriter::run() {
  auto& s = *state_;
  const auto ex = co_await asio::this_coro::executor;
  s.stop_event.emplace(ex);
  if (s.stopping) s.stop_event->set();
  // A previous run of this worker may have died holding claims: they go back at once.
  auto back = co_await s.outbox.reclaim(now_epoch_ms(), s.o.worker_id);
  if (back && *back > 0) log::info("outbox: took back {} item(s) this worker claimed before it restarted", *back);
  const int lanes = std::max(1, s.o.lanes);
  net::Countdown done(ex, lanes);
  for (int i = 0; i < lanes; ++i) {
    asio::co_spawn(ex, s.lane(i), [&done](const std::exception_ptr& e) {
      if (e) log::error("airtable writer: a lane ended with an unexpected exception");
      done.done();
    });
  }
  co_await done.wait();
  log::info("airtable writer stopped: {} batches, {} rows written, {} refused, {} calls, {} rate-limited",
            s.counters.batches, s.counters.written, s.counters.rejected, s.counters.calls, s.counters.rate_limited);
}

}  // namespace schedulo::outbox
