#include "queue/store.hpp"

#include "common/log.hpp"
#include "queue/scripts.hpp"

namespace schedulo::queue {
namespace {

constexpr long long kLostLease = -1;
constexpr long long kControlPending = -2;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"  // error_category's destructor is protected by design
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "queue"; }
  std::string message(int code) const override {
    switch (static_cast<QueueErrc>(code)) {
      case QueueErrc::script_failed: return "a queue script failed in Redis (see the log)";
      case QueueErrc::no_such_job: return "no such job";
      case QueueErrc::bad_reply: return "a queue script answered in an unexpected shape";
    }
    return "unknown queue error";
  }
};
#pragma GCC diagnostic pop

std::string s(long long v) { return std::to_string(v); }
std::string s(std::uint64_t v) { return std::to_string(v); }
std::string s(int v) { return std::to_string(v); }

void add_job_fields(redis::Args& args, const NewJob& j) {
  args.insert(args.end(), {j.id, j.type, j.platform, j.account, j.payload, s(static_cast<long long>(j.run_at_ms)),
                           s(j.max_attempts), j.outbox});
}

std::map<std::string, std::string> as_map(const redis::Value& v) {
  std::map<std::string, std::string> m;
  for (std::size_t i = 0; i + 1 < v.elements.size(); i += 2) m[v.elements[i].str] = v.elements[i + 1].str;
  return m;
}

}  // namespace

const boost::system::error_category& queue_category() {
  static const Category category;
  return category;
}

std::string_view to_string(Settlement s) {
  switch (s) {
    case Settlement::succeeded: return "succeeded";
    case Settlement::failed: return "failed";
    case Settlement::dead: return "dead";
    case Settlement::needs_review: return "needs_review";
    case Settlement::retry: return "retry";
    case Settlement::defer: return "defer";
    case Settlement::wait: return "wait";
    case Settlement::release: return "release";
  }
  return "?";
}

Store::Store(redis::Client& client, Keys keys, QueueSettings settings)
    : client_(client), keys_(std::move(keys)), settings_(settings) {}

net::awaitable<redis::Reply> Store::run(std::string_view name, redis::Args args) {
  auto reply = co_await client_.eval(script(name), {}, std::move(args));
  if (reply && reply->is_error()) {
    log::error("queue script {} failed: {}", name, reply->str);
    co_return make_error_code(QueueErrc::script_failed);
  }
  co_return reply;
}

net::awaitable<Result<std::vector<EnqueueResult>>> Store::enqueue(const std::vector<NewJob>& jobs, std::int64_t now) {
  redis::Args args{keys_.prefix(), s(static_cast<long long>(now)), s(static_cast<long long>(settings_.retention.count())),
                   s(static_cast<long long>(settings_.idempotency_window.count()))};
  for (const auto& j : jobs) add_job_fields(args, j);
  auto r = co_await run("enqueue", std::move(args));
  if (!r) co_return r.error();
  std::vector<EnqueueResult> out;
  for (const auto& e : r->elements)
    out.push_back(e.integer == 1 ? EnqueueResult::created
                                 : e.integer == 2 ? EnqueueResult::cancelled : EnqueueResult::duplicate);
  if (out.size() != jobs.size()) co_return make_error_code(QueueErrc::bad_reply);
  co_return out;
}

net::awaitable<Result<std::vector<std::string>>> Store::claim(const std::string& source, const std::string& work,
                                                              int max) {
  redis::Args args{keys_.prefix(), source, work, s(max)};
  auto r = co_await run("claim", std::move(args));
  if (!r) co_return r.error();
  std::vector<std::string> out;
  out.reserve(r->elements.size());
  for (auto& e : r->elements) out.push_back(std::move(e.str));
  co_return out;
}

net::awaitable<Result<std::vector<long long>>> Store::commit_intake(const std::string& worker, std::size_t handled,
                                                                   const std::vector<IntakeItem>& items,
                                                                   std::int64_t now) {
  redis::Args args{keys_.prefix(), s(static_cast<long long>(now)), s(static_cast<long long>(settings_.retention.count())),
                   s(static_cast<long long>(settings_.idempotency_window.count())), keys_.intake_work(worker),
                   s(static_cast<long long>(handled))};
  for (const auto& item : items) {
    if (item.valid) {
      args.emplace_back("job");
      add_job_fields(args, item.job);
    } else {
      const auto& r = item.refused;
      args.insert(args.end(), {"dead", r.id, r.type, r.platform, r.account, r.raw, r.error, r.error_code, ""});
    }
  }
  auto r = co_await run("intake_commit", std::move(args));
  if (!r) co_return r.error();
  std::vector<long long> out;
  for (const auto& e : r->elements) out.push_back(e.integer);
  co_return out;
}

net::awaitable<Result<std::vector<std::string>>> Store::commit_control(const std::string& worker, std::size_t handled,
                                                                      const std::vector<ControlOp>& ops,
                                                                      std::int64_t now) {
  redis::Args args{keys_.prefix(), s(static_cast<long long>(now)), s(static_cast<long long>(settings_.retention.count())),
                   s(static_cast<long long>(settings_.idempotency_window.count())), keys_.control_work(worker),
                   s(static_cast<long long>(handled))};
  for (const auto& op : ops) {
    const char* kind = op.kind == ControlOp::Kind::cancel ? "cancel" : op.kind == ControlOp::Kind::replace ? "replace" : "skip";
    args.insert(args.end(), {kind, op.id});
    if (op.kind == ControlOp::Kind::replace) {
      args.insert(args.end(), {op.job.type, op.job.platform, op.job.account, op.job.payload,
                               s(static_cast<long long>(op.job.run_at_ms)), s(op.job.max_attempts), op.job.outbox});
    } else {
      args.insert(args.end(), 7, std::string());
    }
  }
  auto r = co_await run("control_commit", std::move(args));
  if (!r) co_return r.error();
  std::vector<std::string> out;
  for (auto& e : r->elements) out.push_back(std::move(e.str));
  co_return out;
}

net::awaitable<Result<std::string>> Store::cancel(const std::string& id, std::int64_t now) {
  redis::Args args{keys_.prefix(), s(static_cast<long long>(now)),
                                   s(static_cast<long long>(settings_.retention.count())),
                                   s(static_cast<long long>(settings_.idempotency_window.count())), id};
  auto r = co_await run("cancel", std::move(args));
  if (!r) co_return r.error();
  co_return r->str;
}

net::awaitable<Result<std::string>> Store::replace(const NewJob& job, std::int64_t now) {
  redis::Args args{keys_.prefix(), s(static_cast<long long>(now))};
  add_job_fields(args, job);
  args.push_back(s(static_cast<long long>(settings_.retention.count())));
  args.push_back(s(static_cast<long long>(settings_.idempotency_window.count())));
  auto r = co_await run("replace", std::move(args));
  if (!r) co_return r.error();
  co_return r->str;
}

net::awaitable<Result<std::pair<long long, std::int64_t>>> Store::promote(std::int64_t now, int max) {
  redis::Args args{keys_.prefix(), s(static_cast<long long>(now)), s(max)};
  auto r = co_await run("promote", std::move(args));
  if (!r) co_return r.error();
  if (r->elements.size() != 2) co_return make_error_code(QueueErrc::bad_reply);
  co_return std::pair<long long, std::int64_t>{r->elements[0].integer, r->elements[1].integer};
}

net::awaitable<Result<LeaseBatch>> Store::lease(std::int64_t now, const std::string& worker, int total,
                                                const std::vector<std::pair<std::string, int>>& per_platform) {
  redis::Args args{keys_.prefix(), s(static_cast<long long>(now)), worker,
                   s(static_cast<long long>(settings_.lease.count())), s(settings_.per_account_limit),
                   s(static_cast<long long>(settings_.pause_recheck.count())), s(total)};
  for (const auto& [platform, max] : per_platform) {
    args.push_back(platform);
    args.push_back(s(max));
  }
  auto r = co_await run("lease", std::move(args));
  if (!r) co_return r.error();
  LeaseBatch batch;
  auto& e = r->elements;
  if (e.empty()) co_return make_error_code(QueueErrc::bad_reply);
  if (e[0].integer == kControlPending) {
    batch.control_pending = true;
    co_return batch;
  }
  if (e.size() < 2 || (e.size() - 2) % 6 != 0) co_return make_error_code(QueueErrc::bad_reply);
  batch.inbox_length = e[1].integer;
  for (std::size_t i = 2; i + 5 < e.size(); i += 6) {
    Lease l;
    l.id = std::move(e[i].str);
    l.token = static_cast<std::uint64_t>(e[i + 1].integer);
    l.attempt = static_cast<int>(e[i + 2].integer);
    l.max_attempts = static_cast<int>(e[i + 3].integer);
    l.payload = std::move(e[i + 4].str);
    l.checkpoint = std::move(e[i + 5].str);
    batch.jobs.push_back(std::move(l));
  }
  co_return batch;
}

net::awaitable<Result<std::vector<std::string>>> Store::settle(const std::vector<Settle>& items, std::int64_t now) {
  redis::Args args{keys_.prefix(), s(static_cast<long long>(now)), s(static_cast<long long>(settings_.retention.count())),
                   s(static_cast<long long>(settings_.idempotency_window.count())), s(settings_.per_account_limit)};
  args.reserve(args.size() + items.size() * 9);
  for (const auto& i : items) {
    args.insert(args.end(), {i.id, s(i.token), std::string(to_string(i.outcome)), s(static_cast<long long>(i.due_ms)),
                             i.error, i.error_code, i.result, i.checkpoint, i.outbox});
  }
  auto r = co_await run("settle", std::move(args));
  if (!r) co_return r.error();
  std::vector<std::string> out;
  out.reserve(r->elements.size());
  for (auto& e : r->elements) out.push_back(e.is_integer() && e.integer == kLostLease ? "lost" : std::move(e.str));
  co_return out;
}

net::awaitable<Result<std::vector<std::string>>> Store::heartbeat(
    std::int64_t now, const std::vector<std::pair<std::string, std::uint64_t>>& leases,
    std::chrono::milliseconds length) {
  const auto lease = length.count() > 0 ? length : settings_.lease;
  redis::Args args{keys_.prefix(), s(static_cast<long long>(now)), s(static_cast<long long>(lease.count()))};
  for (const auto& [id, token] : leases) {
    args.push_back(id);
    args.push_back(s(token));
  }
  auto r = co_await run("heartbeat", std::move(args));
  if (!r) co_return r.error();
  std::vector<std::string> lost;
  for (auto& e : r->elements) lost.push_back(std::move(e.str));
  co_return lost;
}

net::awaitable<Result<bool>> Store::checkpoint(const std::string& id, std::uint64_t token, const std::string& json,
                                               std::int64_t now, std::chrono::milliseconds length) {
  const auto lease = std::max(length, settings_.lease);
  redis::Args args{keys_.prefix(), s(static_cast<long long>(now)), s(static_cast<long long>(lease.count())), id,
                   s(token), json};
  auto r = co_await run("checkpoint", std::move(args));
  if (!r) co_return Result<bool>(boost::system::in_place_error, r.error());
  co_return r->integer == 1;
}

net::awaitable<Result<long long>> Store::reap(std::int64_t now, int max, std::string dead_records) {
  redis::Args args{keys_.prefix(),
                   s(static_cast<long long>(now)),
                   s(static_cast<long long>(settings_.retention.count())),
                   s(static_cast<long long>(settings_.idempotency_window.count())),
                   s(max),
                   std::move(dead_records)};
  auto r = co_await run("reap", std::move(args));
  if (!r) co_return r.error();
  co_return r->integer;
}

net::awaitable<Result<long long>> Store::reclaim_own(std::int64_t now, const std::string& worker,
                                                     std::string dead_records) {
  redis::Args args{keys_.prefix(),
                   s(static_cast<long long>(now)),
                   s(static_cast<long long>(settings_.retention.count())),
                   s(static_cast<long long>(settings_.idempotency_window.count())),
                   worker,
                   std::move(dead_records)};
  auto r = co_await run("reclaim_own", std::move(args));
  if (!r) co_return r.error();
  co_return r->integer;
}

net::awaitable<Result<bool>> Store::worker_beat(const std::string& worker, std::chrono::milliseconds ttl) {
  redis::Args args{keys_.prefix(), worker, s(static_cast<long long>(ttl.count()))};
  auto r = co_await run("worker_beat", std::move(args));
  if (!r) co_return Result<bool>(boost::system::in_place_error, r.error());
  co_return true;
}

net::awaitable<Result<long long>> Store::rescue_work() {
  redis::Args args{keys_.prefix()};
  auto r = co_await run("rescue_work", std::move(args));
  if (!r) co_return r.error();
  co_return r->integer;
}

net::awaitable<Result<JobRecord>> Store::status(const std::string& id) {
  const std::vector<redis::Args> commands{{"HGETALL", keys_.job(id)}, {"LRANGE", keys_.attempt_log(id), "0", "-1"}};
  auto r = co_await client_.pipeline(commands);
  if (!r) co_return r.error();
  JobRecord record;
  record.fields = as_map((*r)[0]);
  if (record.fields.empty()) co_return make_error_code(QueueErrc::no_such_job);
  for (auto& e : (*r)[1].elements) record.attempt_log.push_back(std::move(e.str));
  co_return record;
}

net::awaitable<Result<std::vector<std::map<std::string, std::string>>>> Store::list(const std::string& platform,
                                                                                  const std::string& account,
                                                                                  const std::string& state, int limit) {
  const std::string index = account.empty() ? keys_.jobs() : keys_.by_account(platform, account);
  std::vector<std::map<std::string, std::string>> out;
  long long offset = 0;
  constexpr long long kPage = 500;
  // Newest first; pages until `limit` matches or the index ends. Ids whose job expired are skipped.
  while (static_cast<int>(out.size()) < limit) {
    auto ids = co_await client_.exec("ZREVRANGE", index, std::to_string(offset), std::to_string(offset + kPage - 1));
    if (!ids) co_return ids.error();
    if (ids->elements.empty()) break;
    std::vector<redis::Args> gets;
    for (const auto& id : ids->elements)
      gets.push_back({"HMGET", keys_.job(id.str), "id", "state", "type", "platform", "account", "attempts", "updated_at",
                      "error"});
    auto rows = co_await client_.pipeline(gets);
    if (!rows) co_return rows.error();
    static constexpr const char* kNames[] = {"id", "state", "type", "platform", "account", "attempts", "updated_at", "error"};
    for (const auto& row : *rows) {
      if (row.elements.empty() || row.elements[0].is_nil()) continue;
      if (!state.empty() && row.elements[1].str != state) continue;
      std::map<std::string, std::string> m;
      for (std::size_t i = 0; i < row.elements.size(); ++i)
        if (!row.elements[i].is_nil()) m[kNames[i]] = row.elements[i].str;
      out.push_back(std::move(m));
      if (static_cast<int>(out.size()) >= limit) break;
    }
    offset += kPage;
  }
  co_return out;
}

net::awaitable<Result<QueueStats>> Store::stats(const std::vector<std::string>& platforms, std::int64_t now) {
  std::vector<redis::Args> cmds;
  cmds.reserve(2 * platforms.size() + 12);
  for (const auto& p : platforms) cmds.push_back({"LLEN", keys_.ready(p)});
  for (const auto& p : platforms) cmds.push_back({"LINDEX", keys_.ready(p), "-1"});  // the next to run
  cmds.push_back({"ZCARD", keys_.scheduled()});
  cmds.push_back({"ZCARD", keys_.leases()});
  cmds.push_back({"ZCARD", keys_.dead()});
  cmds.push_back({"LLEN", keys_.inbox()});
  cmds.push_back({"LLEN", keys_.control()});
  cmds.push_back({"ZRANGE", keys_.scheduled(), "0", "0", "WITHSCORES"});
  static constexpr const char* kFinal[] = {"succeeded", "failed", "dead", "needs_review", "cancelled"};
  for (const char* f : kFinal) cmds.push_back({"GET", keys_.total(f)});
  auto r = co_await client_.pipeline(cmds);
  if (!r) co_return r.error();
  QueueStats st;
  const std::size_t n = platforms.size();
  std::int64_t oldest_due = now;
  std::vector<std::string> heads;
  for (std::size_t i = 0; i < n; ++i) {
    st.ready_by_platform[platforms[i]] = (*r)[i].integer;
    if (!(*r)[n + i].is_nil()) heads.push_back((*r)[n + i].str);
  }
  st.scheduled = (*r)[2 * n].integer;
  st.running = (*r)[2 * n + 1].integer;
  st.dead = (*r)[2 * n + 2].integer;
  st.inbox = (*r)[2 * n + 3].integer;
  st.control = (*r)[2 * n + 4].integer;
  const auto& first = (*r)[2 * n + 5];
  if (first.elements.size() == 2) oldest_due = std::min<std::int64_t>(oldest_due, *first.elements[1].as_integer());
  for (std::size_t i = 0; i < std::size(kFinal); ++i)
    st.totals[kFinal[i]] = (*r)[2 * n + 6 + i].as_integer().value_or(0);
  if (!heads.empty()) {
    std::vector<redis::Args> dues;
    dues.reserve(heads.size());
    for (const auto& id : heads) dues.push_back({"HGET", keys_.job(id), "due_at"});
    auto d = co_await client_.pipeline(dues);
    if (!d) co_return d.error();
    for (const auto& v : *d)
      if (auto due = v.as_integer()) oldest_due = std::min<std::int64_t>(oldest_due, *due);
  }
  st.oldest_due_age_ms = std::max<std::int64_t>(0, now - oldest_due);
  co_return st;
}

net::awaitable<Result<std::vector<std::map<std::string, std::string>>>> Store::dead_list(int limit) {
  auto ids = co_await client_.exec("ZREVRANGE", keys_.dead(), "0", std::to_string(limit - 1));
  if (!ids) co_return ids.error();
  std::vector<redis::Args> gets;
  for (const auto& id : ids->elements) gets.push_back({"HGETALL", keys_.job(id.str)});
  std::vector<std::map<std::string, std::string>> out;
  if (gets.empty()) co_return out;
  auto rows = co_await client_.pipeline(gets);
  if (!rows) co_return rows.error();
  for (const auto& row : *rows) {
    auto m = as_map(row);
    if (!m.empty()) out.push_back(std::move(m));
  }
  co_return out;
}

net::awaitable<Result<bool>> Store::dead_retry(const std::string& id, std::int64_t now) {
  const std::vector<std::string> ids{id};
  auto r = co_await dead_retry(ids, now);
  if (!r) co_return Result<bool>(boost::system::in_place_error, r.error());
  co_return r->at(0) == DeadRetry::queued;
}

net::awaitable<Result<std::vector<DeadRetry>>> Store::dead_retry(const std::vector<std::string>& ids, std::int64_t now,
                                                                 const std::string& platform) {
  std::vector<DeadRetry> out;
  if (ids.empty()) co_return out;
  redis::Args args{keys_.prefix(), s(static_cast<long long>(now)), platform};
  args.insert(args.end(), ids.begin(), ids.end());
  auto r = co_await run("dead_retry", std::move(args));
  if (!r) co_return r.error();
  if (r->elements.size() != ids.size()) co_return make_error_code(QueueErrc::bad_reply);
  out.reserve(ids.size());
  for (const auto& v : r->elements) {
    if (v.integer < 0 || v.integer > 2) co_return make_error_code(QueueErrc::bad_reply);
    out.push_back(static_cast<DeadRetry>(v.integer));
  }
  co_return out;
}

net::awaitable<Result<std::vector<std::string>>> Store::dead_ids(std::int64_t finished_before, long long limit) {
  auto r = co_await client_.exec("ZRANGE", keys_.dead(), "-inf", s(static_cast<long long>(finished_before)), "BYSCORE",
                                 "LIMIT", "0", s(limit));
  if (!r) co_return r.error();
  if (r->is_error()) co_return make_error_code(QueueErrc::bad_reply);
  std::vector<std::string> ids;
  ids.reserve(r->elements.size());
  for (auto& e : r->elements) ids.push_back(std::move(e.str));
  co_return ids;
}

net::awaitable<Result<long long>> Store::dead_count(std::int64_t finished_before) {
  auto r = co_await client_.exec("ZCOUNT", keys_.dead(), "-inf", s(static_cast<long long>(finished_before)));
  if (!r) co_return r.error();
  if (!r->is_integer()) co_return make_error_code(QueueErrc::bad_reply);
  co_return r->integer;
}

net::awaitable<Result<long long>> Store::dead_purge(std::int64_t finished_before, int max) {
  redis::Args args{keys_.prefix(), s(static_cast<long long>(finished_before)),
                                       s(static_cast<long long>(settings_.idempotency_window.count())), s(max)};
  auto r = co_await run("dead_purge", std::move(args));
  if (!r) co_return r.error();
  co_return r->integer;
}

net::awaitable<Result<bool>> Store::set_paused(const std::string& target, bool paused) {
  auto r = co_await client_.exec(paused ? "SADD" : "SREM", keys_.paused(), target);
  if (!r) co_return Result<bool>(boost::system::in_place_error, r.error());
  if (r->is_error()) co_return Result<bool>(boost::system::in_place_error, make_error_code(QueueErrc::script_failed));
  co_return r->integer == 1;
}

}  // namespace schedulo::queue
