#include "queue/outbox.hpp"

#include "common/log.hpp"
#include "queue/scripts.hpp"

namespace schedulo::queue {
namespace {

using json = nlohmann::json;

std::string s(long long v) {
  return std::to_string(v);
}

std::string verdict_name(OutboxAck::Verdict v) {
  switch (v) {
    case OutboxAck::Verdict::ok:
      return "ok";
    case OutboxAck::Verdict::retry:
      return "retry";
    case OutboxAck::Verdict::dead:
      return "dead";
  }
  return "retry";
}

}  // namespace

std::string encode_outbox(const std::vector<OutboxEntry>& entries, const std::vector<NewJob>& jobs) {
  if (entries.empty() && jobs.empty()) return {};
  json out = json::array();
  for (const auto& e : entries) {
    json fields = json::object();
    for (const auto& [name, value] : e.fields) fields[name] = value;  // later values of a name win
    json j{{"dest", e.dest}, {"key", e.key}, {"fields", fields}};
    if (!e.record_id.empty()) j["record_id"] = e.record_id;
    if (e.history)
      j["history"] = {
          {"field", e.history->field}, {"line", e.history->line}, {"keep", std::to_string(e.history->keep)}};
    // Numbers travel as strings: Redis' cjson keeps 14 significant digits only.
    if (e.guard) j["guard"] = std::to_string(*e.guard);
    if (e.due_ms > 0) j["due"] = std::to_string(e.due_ms);
    if (!e.on_cancel.empty()) {
      json cancel = json::object();
      for (const auto& [name, value] : e.on_cancel) cancel[name] = value;
      j["on_cancel"] = std::move(cancel);
    }
    out.push_back(std::move(j));
  }
  for (const auto& job : jobs) {
    out.push_back({{"dest", "job"},
                   {"job",
                    {{"id", job.id},
                     {"type", job.type},
                     {"platform", job.platform},
                     {"account", job.account},
                     {"payload", job.payload},
                     {"run_at", std::to_string(job.run_at_ms)},
                     {"max_attempts", std::to_string(job.max_attempts)}}}});
  }
  return out.dump();
}

Outbox::Outbox(redis::Client& client, Keys keys, QueueSettings settings)
    : client_(client), keys_(std::move(keys)), settings_(settings) {}

net::awaitable<redis::Reply> Outbox::run(std::string_view name, redis::Args args) {
  auto reply = co_await client_.eval(script(name), {}, std::move(args));
  if (reply && reply->is_error()) {
    log::error("outbox script {} failed: {}", name, reply->str);
    co_return make_error_code(QueueErrc::script_failed);
  }
  co_return reply;
}

net::awaitable<Result<long long>> Outbox::append(const std::vector<OutboxEntry>& entries, std::int64_t now,
                                                 const std::vector<NewJob>& jobs, const std::string& work_list,
                                                 std::size_t handled) {
  redis::Args args{keys_.prefix(),
                   s(now),
                   s(settings_.retention.count()),
                   s(settings_.idempotency_window.count()),
                   encode_outbox(entries, jobs),
                   work_list,
                   s(static_cast<long long>(handled))};
  auto r = co_await run("outbox_append", std::move(args));
  if (!r) co_return r.error();
  co_return r->integer;
}

net::awaitable<Result<OutboxClaim>> Outbox::claim(const std::string& dest, int max, const std::string& worker,
                                                  std::chrono::milliseconds claim_for, std::int64_t now) {
  redis::Args args{keys_.prefix(), s(now), worker, s(now + claim_for.count()), s(max), dest};
  auto r = co_await run("outbox_claim", std::move(args));
  if (!r) co_return r.error();
  auto& e = r->elements;
  if (e.empty()) co_return make_error_code(QueueErrc::bad_reply);
  OutboxClaim claim;
  claim.due_left = e[0].integer;
  for (std::size_t i = 1; i < e.size();) {
    if (i + 6 > e.size()) co_return make_error_code(QueueErrc::bad_reply);
    OutboxItem item;
    item.dest = dest;
    item.key = std::move(e[i].str);
    item.token = static_cast<std::uint64_t>(e[i + 1].integer);
    item.attempts = static_cast<int>(e[i + 2].integer);
    item.record_id = std::move(e[i + 3].str);
    item.first_at_ms = e[i + 4].integer;
    const auto pairs = static_cast<std::size_t>(e[i + 5].integer);
    i += 6;
    if (i + 2 * pairs > e.size()) co_return make_error_code(QueueErrc::bad_reply);
    for (std::size_t p = 0; p < pairs; ++p, i += 2)
      item.fields.emplace_back(std::move(e[i].str), std::move(e[i + 1].str));
    claim.items.push_back(std::move(item));
  }
  co_return claim;
}

net::awaitable<Result<std::vector<std::string>>> Outbox::ack(const std::vector<OutboxAck>& acks, std::int64_t now) {
  std::vector<std::string> out;
  if (acks.empty()) co_return out;
  redis::Args args{keys_.prefix(), s(now), s(settings_.retention.count()), s(settings_.idempotency_window.count())};
  for (const auto& a : acks)
    args.insert(args.end(),
                {a.dest, a.key, std::to_string(a.token), verdict_name(a.verdict), s(a.due_ms), a.reason, a.entries});
  auto r = co_await run("outbox_ack", std::move(args));
  if (!r) co_return r.error();
  for (auto& e : r->elements) out.push_back(e.is_integer() ? "lost" : std::move(e.str));
  if (out.size() != acks.size()) co_return make_error_code(QueueErrc::bad_reply);
  co_return out;
}

net::awaitable<Result<long long>> Outbox::reclaim(std::int64_t now, const std::string& worker, int max) {
  redis::Args args{keys_.prefix(), s(now), worker, s(max)};
  auto r = co_await run("outbox_reclaim", std::move(args));
  if (!r) co_return r.error();
  co_return r->integer;
}

net::awaitable<Result<std::vector<std::string>>> Outbox::take(const std::string& source, const std::string& work,
                                                              int max) {
  redis::Args args{keys_.prefix(), source, work, std::to_string(max)};
  auto r = co_await run("claim", std::move(args));
  if (!r) co_return r.error();
  std::vector<std::string> out;
  for (auto& e : r->elements) out.push_back(std::move(e.str));
  co_return out;
}

net::awaitable<Result<std::vector<long long>>> Outbox::due_counts(const std::vector<std::string>& dests,
                                                                  std::int64_t now) {
  std::vector<redis::Args> cmds;
  cmds.reserve(dests.size());
  for (const auto& d : dests) cmds.push_back({"ZCOUNT", keys_.outbox_queue(d), "-inf", s(now)});
  std::vector<long long> out;
  if (cmds.empty()) co_return out;
  auto r = co_await client_.pipeline(cmds);
  if (!r) co_return r.error();
  for (const auto& v : *r) out.push_back(v.is_integer() ? v.integer : 0);
  co_return out;
}

net::awaitable<Result<OutboxStats>> Outbox::stats(std::int64_t now) {
  auto dests = co_await client_.exec("SMEMBERS", keys_.outbox_dests());
  if (!dests) co_return dests.error();
  std::vector<std::string> names;
  for (const auto& d : dests->elements) names.push_back(d.str);
  std::vector<redis::Args> cmds;
  for (const auto& d : names) {
    cmds.push_back({"ZCARD", keys_.outbox_queue(d)});
    cmds.push_back({"ZCOUNT", keys_.outbox_queue(d), "-inf", s(now)});
    cmds.push_back({"ZRANGE", keys_.outbox_queue(d), "0", "0", "WITHSCORES"});
  }
  cmds.push_back({"ZCARD", keys_.outbox_claimed()});
  cmds.push_back({"ZCARD", keys_.outbox_dead()});
  auto r = co_await client_.pipeline(cmds);
  if (!r) co_return r.error();
  OutboxStats st;
  std::int64_t oldest = now;
  for (std::size_t i = 0; i < names.size(); ++i) {
    st.pending[names[i]] = (*r)[3 * i].integer;
    st.due[names[i]] = (*r)[3 * i + 1].integer;
    const auto& first = (*r)[3 * i + 2];
    if (first.elements.size() == 2)
      if (auto due = first.elements[1].as_integer()) oldest = std::min<std::int64_t>(oldest, *due);
  }
  st.claimed = (*r)[3 * names.size()].integer;
  st.dead = (*r)[3 * names.size() + 1].integer;
  st.oldest_due_age_ms = std::max<std::int64_t>(0, now - oldest);
  co_return st;
}

net::awaitable<Result<std::vector<DeadOutboxItem>>> Outbox::dead_list(int limit) {
  auto items = co_await client_.exec("ZREVRANGE", keys_.outbox_dead(), "0", std::to_string(limit - 1));
  if (!items) co_return items.error();
  std::vector<DeadOutboxItem> out;
  std::vector<redis::Args> gets;
  for (const auto& i : items->elements) gets.push_back({"HGETALL", keys_.outbox_dead_item(i.str)});
  if (gets.empty()) co_return out;
  auto rows = co_await client_.pipeline(gets);
  if (!rows) co_return rows.error();
  for (std::size_t i = 0; i < rows->size(); ++i) {
    DeadOutboxItem d;
    d.item = items->elements[i].str;
    const auto& row = (*rows)[i];
    for (std::size_t j = 0; j + 1 < row.elements.size(); j += 2) d.hash[row.elements[j].str] = row.elements[j + 1].str;
    out.push_back(std::move(d));
  }
  co_return out;
}

net::awaitable<Result<long long>> Outbox::dead_retry(const std::vector<std::string>& items, std::int64_t now) {
  redis::Args args{keys_.prefix(), s(now)};
  args.insert(args.end(), items.begin(), items.end());
  auto r = co_await run("outbox_dead_retry", std::move(args));
  if (!r) co_return r.error();
  co_return r->integer;
}

}  // namespace schedulo::queue
