#include "jobs/dispatcher.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "jobs/drivers.hpp"
#include "jobs/intake.hpp"
#include "jobs/records_rewrite.hpp"
#include "platforms/errors/messages.hpp"

namespace schedulo::jobs {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr int kControlBatch = 100;
constexpr milliseconds kPromoteAtLeastEvery{1000};  // catches due times set by other daemons
constexpr milliseconds kRedisRetry{200};
constexpr milliseconds kShortestInboxWait{20};  // shorter idle waits use a local timer only
// Most jobs one lease call takes. When many slots are free at once (start-up, a backlog arriving
// after a quiet spell), the first jobs start their calls while Redis leases the next ones, instead of
// every job waiting for one long lease and for all the others to be started before it.
constexpr int kLeaseBatch = 64;

queue::Settlement settlement_of(Outcome::Kind kind) {
  switch (kind) {
    case Outcome::Kind::succeeded: return queue::Settlement::succeeded;
    case Outcome::Kind::retry: return queue::Settlement::retry;
    case Outcome::Kind::defer: return queue::Settlement::defer;
    case Outcome::Kind::wait: return queue::Settlement::wait;
    case Outcome::Kind::failed: return queue::Settlement::failed;
    case Outcome::Kind::needs_review: return queue::Settlement::needs_review;
  }
  return queue::Settlement::failed;
}

net::awaitable<void> sleep_for(milliseconds d) {
  net::Timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait();
}

}  // namespace

struct InFlight {
  std::unique_ptr<JobContext> context;
  std::string platform;
  // Shared with the coroutine's completion handler: the signal must outlive every use Asio makes of
  // it while the coroutine winds down, which ends after the slot itself is gone.
  std::shared_ptr<asio::cancellation_signal> cancel = std::make_shared<asio::cancellation_signal>();
  bool handed_back = false;  // cancelled by shutdown: settle as release
};

struct Dispatcher::State {
  State(queue::Store& s, redis::Client& b, AdapterLookup a, DispatcherOptions opts)
      : store(s), blocking(b), adapters(std::move(a)), o(std::move(opts)), rng(std::random_device{}()) {}

  queue::Store& store;
  redis::Client& blocking;
  AdapterLookup adapters;
  DispatcherOptions o;
  std::mt19937_64 rng;
  DispatcherCounters counters;

  std::optional<net::Signal> work_signal;    // a slot freed, or stop
  std::optional<net::Signal> settle_signal;  // outcomes wait to be written
  std::optional<net::Event> background_stop;  // ends the heartbeat and reaper loops (two waiters)
  std::map<std::string, InFlight> in_flight;
  std::map<std::string, int> running_per_platform;
  std::vector<queue::Settle> to_settle;
  bool stopping = false;
  bool running = false;
  std::int64_t next_promote_ms = 0;
  int round_robin = 0;

  std::int64_t now() const { return now_epoch_ms(); }

  // ---- intake and control ---------------------------------------------------------------------
  net::awaitable<std::size_t> intake_once() {
    const auto& keys = store.keys();
    auto entries = co_await store.claim(keys.inbox(), keys.intake_work(o.worker_id), o.intake_batch);
    if (!entries || entries->empty()) co_return 0;
    std::vector<queue::IntakeItem> items;
    items.reserve(entries->size());
    for (const auto& raw : *entries) items.push_back(read_inbox_entry(raw, o.validation, o.default_max_attempts));
    const auto t = now();
    auto results = co_await store.commit_intake(o.worker_id, entries->size(), items, t);
    if (!results) {
      log::warn("intake: could not store {} entries: {}", items.size(), results.error().message());
      co_return 0;  // they stay in this worker's work list and are read again
    }
    for (std::size_t i = 0; i < items.size() && i < results->size(); ++i) {
      const auto& item = items[i];
      if (!item.valid) {
        ++counters.refused;
        log::JobLog(item.refused.id).warn("inbox entry refused: {}", item.refused.error);
        continue;
      }
      if ((*results)[i] == 1) {
        ++counters.intake;
        if (item.job.run_at_ms > t) next_promote_ms = std::min(next_promote_ms, item.job.run_at_ms);
      } else if ((*results)[i] == 0) {
        log::JobLog(item.job.id).info("duplicate id: the job already exists; entry ignored");
      }
    }
    co_return entries->size();
  }

  net::awaitable<bool> drain_control() {
    const auto& keys = store.keys();
    bool any = false;
    for (;;) {
      auto entries = co_await store.claim(keys.control(), keys.control_work(o.worker_id), kControlBatch);
      if (!entries || entries->empty()) co_return any;
      any = true;
      std::vector<queue::ControlOp> ops;
      for (const auto& raw : *entries) {
        std::string problem;
        ops.push_back(read_control_entry(raw, o.validation, o.default_max_attempts, problem));
        if (!problem.empty()) log::warn("control entry skipped: {}", problem);
      }
      auto results = co_await store.commit_control(o.worker_id, entries->size(), ops, now());
      if (!results) co_return any;
      for (std::size_t i = 0; i < ops.size() && i < results->size(); ++i)
        if (ops[i].kind != queue::ControlOp::Kind::skip)
          log::JobLog(ops[i].id).info("control {}: {}", ops[i].kind == queue::ControlOp::Kind::cancel ? "cancel" : "replace",
                                      (*results)[i]);
      if (entries->size() < static_cast<std::size_t>(kControlBatch)) co_return any;
    }
  }

  // ---- running jobs ---------------------------------------------------------------------------
  net::awaitable<void> run_job(std::string id) {
    InFlight& slot = in_flight.at(id);
    JobContext& ctx = *slot.context;
    const auto started = Clock::now();
    Outcome outcome;
    try {
      PlatformAdapter* adapter = adapters(slot.platform);
      std::optional<Outcome> early;
      if (adapter && o.preflight) early = co_await o.preflight(ctx.job());
      if (!adapter)
        outcome = Outcome::fail("Publishing to " + slot.platform + " is not available in this build of the daemon yet.",
                                "platform_unavailable");
      else if (early)
        outcome = std::move(*early);
      else
        outcome = co_await run_driver(ctx, *adapter);
    } catch (const boost::system::system_error& e) {
      if (!slot.handed_back) outcome = Outcome::retry(std::string("internal error: ") + e.what(), "internal");
    } catch (const std::exception& e) {
      outcome = Outcome::retry(std::string("internal error: ") + e.what(), "internal");
    }
    if (ctx.lost()) {
      ++counters.lost;
      ctx.log().warn("lease lost (another worker took the job over); this attempt's outcome is dropped");
      co_return;
    }
    queue::Settle s;
    s.id = id;
    s.token = ctx.lease().token;
    if (slot.handed_back && outcome.kind != Outcome::Kind::succeeded) {  // interrupted: back to the queue
      s.outcome = queue::Settlement::release;
      s.error = "handed back at shutdown";
      s.error_code = "shutdown";
    } else {
      s.outcome = settlement_of(outcome.kind);
      s.error = outcome.error;
      s.error_code = outcome.error_code;
      if (!outcome.result.is_null()) s.result = outcome.result.dump();
      if (outcome.kind == Outcome::Kind::retry)
        s.due_ms = now() + o.retry.delay(ctx.attempt(), outcome.after, rng).count();
      else if (outcome.kind == Outcome::Kind::defer || outcome.kind == Outcome::Kind::wait)
        s.due_ms = now() + outcome.after.count();
    }
    if (!outcome.checkpoint.is_null()) s.checkpoint = outcome.checkpoint.dump();
    if (o.record_outcome) {
      // settle.lua turns a retry without attempts left into dead: record what it will be.
      const bool last = s.outcome == queue::Settlement::retry && ctx.attempt() >= ctx.lease().max_attempts;
      s.outbox = o.record_outcome(ctx.job(), outcome, last ? queue::Settlement::dead : s.outcome, ctx.attempt());
    }
    if (o.on_settle) o.on_settle(ctx.job(), ctx.lease(), s, Clock::now() - started);
    if (s.outcome != queue::Settlement::succeeded)
      ctx.log().info("attempt {} ended: {} {}", ctx.attempt(), queue::to_string(s.outcome), s.error);
    to_settle.push_back(std::move(s));
    settle_signal->notify();
    // The slot is freed by the coroutine's completion handler (start_job) once this returns: the
    // next lease then overlaps this settlement.
  }

  void finish_slot(const std::string& id) {
    auto it = in_flight.find(id);
    if (it == in_flight.end()) return;
    if (--running_per_platform[it->second.platform] <= 0) running_per_platform.erase(it->second.platform);
    in_flight.erase(it);
    counters.in_flight = static_cast<int>(in_flight.size());
    work_signal->notify();
  }

  void start_job(queue::Lease lease, const net::Executor& ex) {
    const auto deadline = Clock::now() + store.settings().lease;
    auto doc = nlohmann::json::parse(lease.payload, nullptr, false);
    auto parsed = validate_job(doc, o.validation);
    const std::string id = lease.id;
    std::string platform = doc.is_object() && doc.contains("platform") && doc["platform"].is_string()
                               ? doc["platform"].get<std::string>() : std::string("unknown");
    if (in_flight.count(id) > 0) {
      // Leased again while its earlier run still goes on here: Redis forgot the first lease (a failover
      // to a replica that never received it). A second run would share the first one's slot (its
      // context and cancellation signal) and post twice; the first run goes on, its writes now refused
      // by the newer lease's fencing, and that lease expires to the reaper, whose reconciliation asks
      // the platform before anything is posted again.
      log::JobLog(id).warn("leased again while still running here; the new lease is left to expire");
      return;
    }
    InFlight& slot = in_flight[id];
    slot.platform = platform;
    ++running_per_platform[platform];
    ++counters.leased;
    counters.in_flight = static_cast<int>(in_flight.size());
    if (!parsed.job) {
      // The stored job no longer passes validation (e.g. its callback host left the allow-list).
      Job placeholder;
      placeholder.id = id;
      slot.context = std::make_unique<JobContext>(store, placeholder, std::move(lease), deadline);
      queue::Settle s;
      s.id = id;
      s.token = slot.context->lease().token;
      s.outcome = queue::Settlement::failed;
      s.error = "the stored job is no longer valid: " +
                (parsed.errors.empty() ? std::string("unreadable") : parsed.errors.front().message);
      s.error_code = "invalid_job";
      to_settle.push_back(std::move(s));
      settle_signal->notify();
      finish_slot(id);
      return;
    }
    slot.context = std::make_unique<JobContext>(store, std::move(*parsed.job), std::move(lease), deadline);
    if (o.platform_blocked) {
      if (const auto wait = o.platform_blocked(platform)) {
        defer_unrun(id, *wait);
        return;
      }
    }
    auto signal = slot.cancel;
    asio::co_spawn(ex, run_job(id),
                   asio::bind_cancellation_slot(signal->slot(), [this, id, signal](const std::exception_ptr& e) {
                     if (e) log::JobLog(id).error("driver ended with an unexpected exception; the lease will expire");
                     finish_slot(id);
                   }));
  }

  // The platform's circuit is open: the job goes back, unrun and with its attempt given back, to when
  // it may be probed, spread over a tenth of the wait (at most 2 s) so the jobs do not return as a herd.
  void defer_unrun(const std::string& id, milliseconds wait) {
    std::uniform_int_distribution<long long> spread(0, std::min<long long>(wait.count() / 10, 2000));
    queue::Settle s;
    s.id = id;
    s.token = in_flight.at(id).context->lease().token;
    s.outcome = queue::Settlement::defer;
    s.due_ms = now() + wait.count() + spread(rng);
    s.error = errors::friendly_message("", "circuit_open", "", errors::ErrorClass::transient).text();
    s.error_code = "circuit_open";
    to_settle.push_back(std::move(s));
    settle_signal->notify();
    finish_slot(id);
  }

  // ---- background loops -----------------------------------------------------------------------
  net::awaitable<void> settler() {
    milliseconds backoff = kRedisRetry;
    for (;;) {
      if (to_settle.empty()) {
        if (background_stop->is_set()) co_return;
        co_await settle_signal->wait();
        continue;
      }
      std::vector<queue::Settle> batch;
      batch.swap(to_settle);
      auto results = co_await store.settle(batch, now());
      if (!results || results->size() != batch.size()) {
        log::warn("could not record {} job outcomes: {}; retrying", batch.size(),
                  results ? std::string("short reply") : results.error().message());
        to_settle.insert(to_settle.begin(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
        co_await sleep_for(backoff);
        backoff = std::min(backoff * 2, milliseconds(2000));
        continue;
      }
      backoff = kRedisRetry;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if ((*results)[i] == "lost") {
          ++counters.lost;
          log::JobLog(batch[i].id).warn("outcome not recorded: the lease had passed to another worker");
        } else {
          ++counters.settled;
        }
      }
    }
  }

  net::awaitable<void> heartbeats(const net::Executor& ex) {
    net::Timer timer(ex);
    const auto every = store.settings().lease / 3;
    while (!background_stop->is_set()) {
      timer.expires_after(every);
      co_await (timer.async_wait() || background_stop->wait());
      if (background_stop->is_set()) co_return;
      co_await store.worker_beat(o.worker_id, store.settings().lease);
      std::vector<std::pair<std::string, std::uint64_t>> held;
      for (const auto& [id, slot] : in_flight)
        if (slot.context && !slot.context->lost()) held.emplace_back(id, slot.context->lease().token);
      if (held.empty()) continue;
      const auto sent = Clock::now();
      auto lost = co_await store.heartbeat(now(), held);
      if (!lost) continue;  // Redis unreachable: try again next beat; the lease margin covers a few
      for (const auto& id : *lost) {
        auto it = in_flight.find(id);
        if (it == in_flight.end() || !it->second.context) continue;
        it->second.context->mark_lost();
        it->second.cancel->emit(asio::cancellation_type::terminal);
      }
      for (auto& [id, slot] : in_flight)
        if (slot.context && !slot.context->lost()) slot.context->extend_lease(sent + store.settings().lease);
    }
  }

  net::awaitable<void> reaper(const net::Executor& ex) {
    net::Timer timer(ex);
    while (!background_stop->is_set()) {
      timer.expires_after(o.reaper_interval);
      co_await (timer.async_wait() || background_stop->wait());
      if (background_stop->is_set()) co_return;
      const auto since = store.client().stats().connected_since;
      if (since == Clock::time_point::max() || Clock::now() - since < o.reaper_grace) continue;
      const auto at = now();
      auto n = co_await store.reap(at, 100, reclaimed_dead_rewrite(at));
      if (n && *n > 0) {
        counters.reaped += static_cast<std::uint64_t>(*n);
        log::info("reaper: took back {} job(s) whose daemon stopped", *n);
      }
      auto rescued = co_await store.rescue_work();
      if (rescued && *rescued > 0)
        log::info("reaper: put back {} inbox or control entries a stopped daemon had claimed", *rescued);
    }
  }

  // ---- the dispatch loop ----------------------------------------------------------------------
  std::vector<std::pair<std::string, int>> platform_caps() {
    std::vector<std::pair<std::string, int>> caps;
    const std::size_t n = o.platforms.size();
    for (std::size_t i = 0; i < n; ++i) {
      const auto& p = o.platforms[(i + static_cast<std::size_t>(round_robin)) % n];
      const auto it = running_per_platform.find(p);
      caps.emplace_back(p, o.per_platform - (it == running_per_platform.end() ? 0 : it->second));
    }
    ++round_robin;
    return caps;
  }

  net::awaitable<bool> idle(int free) {
    const auto t = now();
    const auto until_due = milliseconds(std::max<std::int64_t>(0, next_promote_ms - t));
    const auto limit = std::min(o.idle_wait, until_due);
    if (limit.count() == 0) co_return false;
    if (free <= 0) {
      net::Timer timer(co_await asio::this_coro::executor);
      timer.expires_after(limit);
      co_await (timer.async_wait() || work_signal->wait());
      co_return false;
    }
    if (limit < kShortestInboxWait) {
      // Due in a moment: a local timer is exact, and a blocking call would cost more than it saves.
      net::Timer timer(co_await asio::this_coro::executor);
      timer.expires_after(limit);
      co_await (timer.async_wait() || work_signal->wait());
      co_return false;
    }
    // Sleeps on the inbox itself: an entry pushed by a bridge wakes this daemon at once, already
    // moved to its own work list. The local timer, not BLMOVE's own timeout, ends the sleep: Redis
    // checks blocked clients' timeouts only every 1/hz (100 ms by default), too coarse for due times.
    // A BLMOVE is never abandoned: it is unblocked and its answer read, or the entry it moved
    // would wait for the next wake-up.
    auto ex = co_await asio::this_coro::executor;
    auto id = co_await blocking.exec("CLIENT", "ID");
    if (!id || !id->is_integer()) {
      co_await sleep_for(limit);  // Redis unreachable: do not spin
      co_return false;
    }
    struct Pending {
      explicit Pending(const net::Executor& e) : done(e) {}
      std::optional<redis::Reply> reply;
      net::Event done;
    };
    auto pending = std::make_shared<Pending>(ex);
    const auto& keys = store.keys();
    const auto server_limit = limit + std::chrono::seconds(1);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.3f", static_cast<double>(server_limit.count()) / 1000.0);
    redis::Args blmove{"BLMOVE", keys.inbox(), keys.intake_work(o.worker_id), "RIGHT", "RIGHT", seconds};
    const auto call_limit = server_limit + blocking.options().command_timeout;
    asio::co_spawn(ex, [pending, blmove, call_limit, &client = blocking]() -> net::awaitable<void> {
      pending->reply = co_await client.exec_args(blmove, call_limit);
      pending->done.set();
    }, asio::detached);
    net::Timer timer(ex);
    timer.expires_after(limit);
    co_await (pending->done.wait() || timer.async_wait() || work_signal->wait());
    // The BLMOVE may not have reached Redis yet (it travels on the other connection): unblock until
    // it answers. Each try is bounded; the BLMOVE's own server-side limit bounds the whole.
    net::Timer retry(ex);
    while (!pending->done.is_set()) {
      co_await store.client().exec("CLIENT", "UNBLOCK", std::to_string(id->integer));
      retry.expires_after(milliseconds(1));
      co_await (pending->done.wait() || retry.async_wait());
    }
    const auto& reply = *pending->reply;
    if (!reply || reply->is_error()) {
      co_await sleep_for(limit);
      co_return false;
    }
    co_return !reply->is_nil();
  }

  net::awaitable<void> dispatch(const net::Executor& ex) {
    bool need_control = true, need_intake = true;
    while (!stopping) {
      bool did = false;
      if (need_control) {
        did |= co_await drain_control();
        need_control = false;
      }
      if (need_intake) {
        const auto n = co_await intake_once();
        need_intake = n >= static_cast<std::size_t>(o.intake_batch);
        did |= n > 0;
      }
      auto t = now();
      if (t >= next_promote_ms) {
        auto promoted = co_await store.promote(t, o.promote_batch);
        if (promoted) {
          did |= promoted->first > 0;
          next_promote_ms = t + kPromoteAtLeastEvery.count();
          if (promoted->second >= 0) next_promote_ms = std::min(next_promote_ms, promoted->second);
          if (promoted->first >= o.promote_batch) next_promote_ms = t;
        } else {
          next_promote_ms = t + kRedisRetry.count();
        }
      }
      const int free = o.concurrency - static_cast<int>(in_flight.size());
      if (free > 0 && !stopping) {
        auto batch = co_await store.lease(now(), o.worker_id, std::min(free, kLeaseBatch), platform_caps());
        if (!batch) {
          co_await sleep_for(kRedisRetry);
          continue;
        }
        if (batch->control_pending) {
          need_control = true;
          continue;
        }
        if (batch->inbox_length > 0) need_intake = true;
        did |= !batch->jobs.empty();
        for (auto& lease : batch->jobs) start_job(std::move(lease), ex);
      }
      if (!did && !need_intake && !need_control && !stopping) need_intake = co_await idle(free);
    }
  }
};

Dispatcher::Dispatcher(queue::Store& store, redis::Client& blocking, AdapterLookup adapters, DispatcherOptions options)
    : state_(std::make_unique<State>(store, blocking, std::move(adapters), std::move(options))) {}

Dispatcher::~Dispatcher() = default;

const DispatcherCounters& Dispatcher::counters() const { return state_->counters; }

bool Dispatcher::consuming() const {
  return state_->running && !state_->stopping && state_->store.client().connected();
}

void Dispatcher::stop() {
  auto& s = *state_;
  if (s.stopping) return;
  s.stopping = true;
  if (s.work_signal) s.work_signal->notify();
}

net::awaitable<void> Dispatcher::run() {
  auto& s = *state_;
  const auto ex = co_await asio::this_coro::executor;
  s.work_signal.emplace(ex);
  s.settle_signal.emplace(ex);
  s.background_stop.emplace(ex);
  s.running = true;

  // A previous run of this worker id may have died holding leases: take them back now.
  while (!s.stopping) {
    const auto at = s.now();
    auto reclaimed = co_await s.store.reclaim_own(at, s.o.worker_id, reclaimed_dead_rewrite(at));
    if (reclaimed) {
      s.counters.reclaimed += static_cast<std::uint64_t>(*reclaimed);
      if (*reclaimed > 0) log::info("took back {} job(s) this worker held before it restarted", *reclaimed);
      co_await s.store.worker_beat(s.o.worker_id, s.store.settings().lease);
      break;
    }
    co_await sleep_for(kRedisRetry);
  }

  net::Countdown background(ex, 3);
  auto track = [&](net::awaitable<void> loop) -> net::awaitable<void> {
    co_await std::move(loop);
    background.done();
  };
  asio::co_spawn(ex, track(s.settler()), asio::detached);
  asio::co_spawn(ex, track(s.heartbeats(ex)), asio::detached);
  asio::co_spawn(ex, track(s.reaper(ex)), asio::detached);

  co_await s.dispatch(ex);

  // Shutdown (rule 8): no more leasing; in-flight jobs get the grace period to finish; the rest are
  // cancelled and handed back with their checkpoints; outcomes are written; then the loops end.
  log::info("shutting down: {} job(s) in flight", s.in_flight.size());
  const auto grace_end = Clock::now() + s.o.shutdown_grace;
  net::Timer timer(ex);
  while (!s.in_flight.empty() && Clock::now() < grace_end) {
    timer.expires_at(grace_end);
    co_await (timer.async_wait() || s.work_signal->wait());
  }
  if (!s.in_flight.empty()) {
    log::warn("handing back {} unfinished job(s)", s.in_flight.size());
    for (auto& [id, slot] : s.in_flight) {
      slot.handed_back = true;
      slot.cancel->emit(asio::cancellation_type::terminal);
    }
  }
  const auto flush_end = Clock::now() + s.store.client().options().command_timeout * 2;
  while (!s.in_flight.empty() && Clock::now() < flush_end) {
    timer.expires_at(flush_end);
    co_await (timer.async_wait() || s.work_signal->wait());
  }
  s.background_stop->set();
  s.settle_signal->notify();
  timer.expires_after(s.store.client().options().command_timeout * 2);
  co_await (background.wait() || timer.async_wait());
  s.running = false;
  log::info("dispatcher stopped: {} leased, {} settled, {} lost", s.counters.leased, s.counters.settled,
            s.counters.lost);
}

}  // namespace schedulo::jobs
