#include "tokens/token_store.hpp"

#include <map>

#include "common/log.hpp"
#include "queue/scripts.hpp"

namespace schedulo::tokens {
namespace {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"  // error_category's destructor is protected by design
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "tokens"; }
  std::string message(int code) const override {
    switch (static_cast<TokenErrc>(code)) {
      case TokenErrc::script_failed:
        return "a token script failed in Redis (see the log)";
      case TokenErrc::bad_reply:
        return "a token script answered in an unexpected shape";
    }
    return "unknown token store error";
  }
};
#pragma GCC diagnostic pop

std::string s(std::int64_t v) {
  return std::to_string(v);
}

std::int64_t number(const std::map<std::string, std::string>& m, const char* key) {
  const auto it = m.find(key);
  if (it == m.end() || it->second.empty()) return 0;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string text(const std::map<std::string, std::string>& m, const char* key) {
  const auto it = m.find(key);
  return it == m.end() ? std::string() : it->second;
}

}  // namespace

const boost::system::error_category& token_category() {
  static const Category category;
  return category;
}

TokenStore::TokenStore(redis::Client& client, queue::Keys keys, const Vault& vault)
    : client_(client), keys_(std::move(keys)), vault_(vault) {}

net::awaitable<redis::Reply> TokenStore::run(std::string_view name, redis::Args args) {
  auto reply = co_await client_.eval(queue::script(name), {}, std::move(args));
  if (reply && reply->is_error()) {
    log::error("token script {} failed: {}", name, reply->str);
    co_return make_error_code(TokenErrc::script_failed);
  }
  co_return reply;
}

net::awaitable<Result<std::optional<StoredAccount>>> TokenStore::load(const AccountRef& ref) {
  auto cached = co_await load_redis(ref);
  if (!cached || *cached || !source_) co_return cached;
  auto durable = co_await source_->load(ref);
  if (!durable) {
    log::warn("token store: {} is not in Redis and its Accounts row cannot be read now: {}", ref.member(),
              durable.error().message());
    co_return durable.error();
  }
  if (!*durable) co_return cached;
  const StoredAccount& a = **durable;
  // Back into Redis as it is (sealed values, its version); Airtable already has it, so nothing is
  // appended to the outbox.
  redis::Args args{keys_.prefix(),
                   ref.platform,
                   ref.account,
                   s(a.version),
                   s(a.updated_at_ms),
                   std::string(to_string(a.status)),
                   a.reason,
                   a.access_sealed,
                   a.refresh_sealed,
                   s(a.access_expires_at_ms),
                   s(a.refresh_expires_at_ms),
                   a.scopes,
                   std::string()};
  auto put = co_await run("token_put", std::move(args));
  if (!put) co_return put.error();
  log::info("token store: {} read back from its Accounts row (version {})", ref.member(), a.version);
  co_return co_await load_redis(ref);
}

net::awaitable<Result<std::optional<StoredAccount>>> TokenStore::load_redis(const AccountRef& ref) {
  auto reply = co_await client_.exec("HGETALL", keys_.token(ref.platform, ref.account));
  if (!reply) co_return reply.error();
  if (!reply->is_array()) co_return make_error_code(TokenErrc::bad_reply);
  std::map<std::string, std::string> m;
  for (std::size_t i = 0; i + 1 < reply->elements.size(); i += 2)
    m[reply->elements[i].str] = reply->elements[i + 1].str;
  // A record without a version is only a sequence drawn for a write that has not happened.
  if (m.find("version") == m.end()) co_return std::optional<StoredAccount>();
  StoredAccount a;
  a.ref = ref;
  a.version = number(m, "version");
  a.status = account_status_from_string(text(m, "status")).value_or(AccountStatus::active);
  a.reason = text(m, "reason");
  a.access_sealed = text(m, "access");
  a.refresh_sealed = text(m, "refresh");
  a.access_expires_at_ms = number(m, "access_expires_at");
  a.refresh_expires_at_ms = number(m, "refresh_expires_at");
  a.scopes = text(m, "scopes");
  a.updated_at_ms = number(m, "updated_at");
  co_return std::optional<StoredAccount>(std::move(a));
}

std::optional<platforms::TokenSet> TokenStore::open(const StoredAccount& a, std::string& error) const {
  platforms::TokenSet t;
  if (!a.access_sealed.empty()) {
    auto opened = vault_.open(a.access_sealed, seal_context(a.ref, "access"));
    if (!opened.value) {
      error = "the access token of " + a.ref.member() + " does not open: " + opened.error;
      return std::nullopt;
    }
    t.access_token = std::move(*opened.value);
  }
  if (!a.refresh_sealed.empty()) {
    auto opened = vault_.open(a.refresh_sealed, seal_context(a.ref, "refresh"));
    if (!opened.value) {
      error = "the refresh token of " + a.ref.member() + " does not open: " + opened.error;
      return std::nullopt;
    }
    t.refresh_token = std::move(*opened.value);
  }
  t.access_expires_at_ms = a.access_expires_at_ms;
  t.refresh_expires_at_ms = a.refresh_expires_at_ms;
  t.scopes = a.scopes;
  return t;
}

net::awaitable<Result<PutResult>> TokenStore::put(const AccountRef& ref, const platforms::TokenSet& tokens,
                                                  std::int64_t version, AccountStatus status, const std::string& reason,
                                                  std::int64_t now_ms) {
  if (version <= 0) {
    redis::Args next_args{keys_.prefix(), ref.platform, ref.account};
    auto next = co_await run("token_next_version", std::move(next_args));
    if (!next) co_return next.error();
    if (!next->is_integer()) co_return make_error_code(TokenErrc::bad_reply);
    version = next->integer;
  }
  const std::vector<AccountEvent> no_events;
  StoredAccount a;
  a.ref = ref;
  a.version = version;
  a.status = status;
  a.reason = reason;
  a.access_sealed = tokens.access_token.empty()
                        ? std::string()
                        : vault_.seal(tokens.access_token.reveal(), seal_context(ref, "access"));
  a.refresh_sealed = tokens.refresh_token.empty()
                         ? std::string()
                         : vault_.seal(tokens.refresh_token.reveal(), seal_context(ref, "refresh"));
  a.access_expires_at_ms = tokens.access_expires_at_ms;
  a.refresh_expires_at_ms = tokens.refresh_expires_at_ms;
  a.scopes = tokens.scopes;
  a.updated_at_ms = now_ms;
  redis::Args args{keys_.prefix(),
                   ref.platform,
                   ref.account,
                   s(version),
                   s(now_ms),
                   std::string(to_string(a.status)),
                   a.reason,
                   a.access_sealed,
                   a.refresh_sealed,
                   s(a.access_expires_at_ms),
                   s(a.refresh_expires_at_ms),
                   a.scopes,
                   encode_for_airtable(a, no_events)};
  auto reply = co_await run("token_put", std::move(args));
  if (!reply) co_return reply.error();
  if (!reply->is_array() || reply->elements.size() != 2) co_return make_error_code(TokenErrc::bad_reply);
  co_return PutResult{reply->elements[0].integer == 1, reply->elements[1].integer};
}

net::awaitable<Result<LockResult>> TokenStore::lock(const AccountRef& ref, const std::string& owner,
                                                    std::chrono::milliseconds ttl) {
  redis::Args args{keys_.prefix(), ref.platform, ref.account, owner, s(ttl.count())};
  auto reply = co_await run("token_lock", std::move(args));
  if (!reply) co_return reply.error();
  if (!reply->is_array() || reply->elements.empty()) co_return make_error_code(TokenErrc::bad_reply);
  LockResult r;
  const auto code = reply->elements[0].integer;
  if (code == -3) {
    r.state = LockResult::State::no_account;
  } else if (code == 1 && reply->elements.size() == 2) {
    r.state = LockResult::State::taken;
    r.fence = reply->elements[1].integer;
    r.value = owner + "/" + s(r.fence);
  } else if (code == 0 && reply->elements.size() == 2) {
    r.state = LockResult::State::held;
    r.left = std::chrono::milliseconds(std::max<long long>(0, reply->elements[1].integer));
  } else {
    co_return make_error_code(TokenErrc::bad_reply);
  }
  co_return r;
}

net::awaitable<Result<bool>> TokenStore::unlock(const AccountRef& ref, const std::string& value) {
  redis::Args args{keys_.prefix(), ref.platform, ref.account, value};
  auto reply = co_await run("token_unlock", std::move(args));
  if (!reply) co_return Result<bool>(boost::system::in_place_error, reply.error());
  co_return Result<bool>(reply->integer == 1);
}

net::awaitable<Result<bool>> TokenStore::set_status(const AccountRef& ref, std::optional<std::int64_t> expected_version,
                                                    AccountStatus status, const std::string& reason,
                                                    std::int64_t now_ms, bool wipe,
                                                    const std::vector<AccountEvent>& events) {
  // The Airtable row shows the record as the script will leave it: read it for the fields the status
  // change keeps. A concurrent write is caught by the version check; the row then is not appended.
  auto current = co_await load(ref);
  if (!current) co_return Result<bool>(boost::system::in_place_error, current.error());
  if (!*current) co_return Result<bool>(false);
  StoredAccount a = std::move(**current);
  if (expected_version && a.version != *expected_version) co_return Result<bool>(false);
  a.status = status;
  a.reason = reason;
  a.updated_at_ms = now_ms;
  if (wipe) {
    a.access_sealed.clear();
    a.refresh_sealed.clear();
  }
  redis::Args args{keys_.prefix(),
                   ref.platform,
                   ref.account,
                   s(a.version),
                   std::string(to_string(status)),
                   reason,
                   s(now_ms),
                   wipe ? "1" : "0",
                   encode_for_airtable(a, events)};
  auto reply = co_await run("token_status", std::move(args));
  if (!reply) co_return Result<bool>(boost::system::in_place_error, reply.error());
  co_return Result<bool>(reply->integer == 1);
}

net::awaitable<Result<bool>> TokenStore::rewrap(const StoredAccount& read, std::int64_t now_ms, std::string& error) {
  auto tokens = open(read, error);
  if (!tokens) co_return Result<bool>(false);
  const std::vector<AccountEvent> no_events;
  StoredAccount a = read;
  a.access_sealed = tokens->access_token.empty()
                        ? std::string()
                        : vault_.seal(tokens->access_token.reveal(), seal_context(read.ref, "access"));
  a.refresh_sealed = tokens->refresh_token.empty()
                         ? std::string()
                         : vault_.seal(tokens->refresh_token.reveal(), seal_context(read.ref, "refresh"));
  a.updated_at_ms = now_ms;
  redis::Args args{
      keys_.prefix(),      read.ref.platform, read.ref.account, s(read.version), read.access_sealed,
      read.refresh_sealed, a.access_sealed,   a.refresh_sealed, s(now_ms),       encode_for_airtable(a, no_events)};
  auto reply = co_await run("token_rewrap", std::move(args));
  if (!reply) co_return Result<bool>(boost::system::in_place_error, reply.error());
  co_return Result<bool>(reply->integer == 1);
}

net::awaitable<Result<std::vector<AccountRef>>> TokenStore::list(const std::string& after, int max) {
  const std::string from = after.empty() ? std::string("-") : "(" + after;
  auto reply =
      co_await client_.exec("ZRANGEBYLEX", keys_.token_accounts(), from, "+", "LIMIT", "0", std::to_string(max));
  if (!reply) co_return reply.error();
  std::vector<AccountRef> out;
  for (const auto& e : reply->elements)
    if (auto ref = parse_account_ref(e.str)) out.push_back(std::move(*ref));
  co_return out;
}

net::awaitable<Result<long long>> TokenStore::count() {
  auto reply = co_await client_.exec("ZCARD", keys_.token_accounts());
  if (!reply) co_return Result<long long>(boost::system::in_place_error, reply.error());
  co_return Result<long long>(reply->integer);
}

}  // namespace schedulo::tokens
