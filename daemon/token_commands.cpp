#include "daemon/token_commands.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "common/text.hpp"
#include "daemon/runtime.hpp"
#include "tokens/token_store.hpp"

namespace schedulo::daemon {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kPage = 100;

using json = nlohmann::json;

std::optional<Config> load_config(const std::string& path) {
  auto loaded = load_config_file(path, ConfigSources::from_process());
  if (!loaded.config) {
    std::cerr << "schedulo: bad configuration in " << path << ":\n" << format_errors(loaded.errors);
    return std::nullopt;
  }
  init_logging(*loaded.config);
  return std::move(loaded.config);
}

std::optional<tokens::AccountRef> parse_target(const std::string& command, const std::string& target) {
  auto ref = tokens::parse_account_ref(target);
  if (!ref || std::find(kPlatforms.begin(), kPlatforms.end(), ref->platform) == kPlatforms.end()) {
    std::cerr << "schedulo " << command
              << ": expected PLATFORM:ACCOUNT with PLATFORM one of instagram, facebook, "
                 "tiktok, x\n";
    return std::nullopt;
  }
  return ref;
}

json time_or_null(std::int64_t ms) {
  return ms > 0 ? json(format_rfc3339_ms(ms)) : json(nullptr);
}

// What an operator may see of an account: everything but the tokens, of which only whether they are
// there, which key seals them, and whether the vault can open them.
json describe(const tokens::StoredAccount& a, const tokens::TokenStore& store, bool refreshing) {
  std::string error;
  const bool opens = store.open(a, error).has_value();
  auto sealed = [&](const std::string& value) -> json {
    if (value.empty()) return nullptr;
    return {{"sealed_with", tokens::Vault::key_id_of(value)}};
  };
  json out = {{"platform", a.ref.platform},
              {"account", a.ref.account},
              {"status", std::string(tokens::to_string(a.status))},
              {"version", a.version},
              {"access_token", sealed(a.access_sealed)},
              {"refresh_token", sealed(a.refresh_sealed)},
              {"access_expires_at", time_or_null(a.access_expires_at_ms)},
              {"refresh_expires_at", time_or_null(a.refresh_expires_at_ms)},
              {"scopes", a.scopes},
              {"updated_at", time_or_null(a.updated_at_ms)},
              {"opens", opens},
              {"refreshing", refreshing}};
  if (!a.reason.empty()) out["reason"] = a.reason;
  if (!opens) out["open_error"] = error;
  return out;
}

// An expiry given as seconds from now or as a time; field names in errors, never values.
bool read_expiry(const json& doc, const char* in_key, const char* at_key, std::int64_t now, std::int64_t& out,
                 std::vector<std::string>& errors) {
  const bool has_in = doc.contains(in_key) && !doc[in_key].is_null();
  const bool has_at = doc.contains(at_key) && !doc[at_key].is_null();
  if (has_in && has_at) {
    errors.push_back(std::string(in_key) + " and " + at_key + ": give one of them, not both");
    return false;
  }
  if (has_in) {
    if (!doc[in_key].is_number_integer() || doc[in_key].get<long long>() <= 0) {
      errors.push_back(std::string(in_key) + ": must be a positive whole number of seconds");
      return false;
    }
    out = now + doc[in_key].get<long long>() * 1000;
  } else if (has_at) {
    const auto parsed = doc[at_key].is_string() ? parse_rfc3339_ms(doc[at_key].get<std::string>()) : std::nullopt;
    if (!parsed) {
      errors.push_back(std::string(at_key) + ": must be an RFC 3339 time");
      return false;
    }
    out = *parsed;
  }
  return true;
}

}  // namespace

int command_account_add(const std::string& config_path, const std::string& target) {
  auto config = load_config(config_path);
  if (!config) return kExitUsage;
  auto ref = parse_target("account add", target);
  if (!ref) return kExitUsage;
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  json doc = json::parse(input, nullptr, false);
  OPENSSL_cleanse(input.data(), input.size());
  if (doc.is_discarded() || !doc.is_object()) {
    // nlohmann's messages quote the input, which holds the tokens: say only where the problem is.
    std::cerr << "schedulo account add: stdin must hold one JSON object with access_token (and optionally "
                 "refresh_token, expires_in or access_expires_at, refresh_expires_in or refresh_expires_at, scopes)\n";
    return kExitUsage;
  }
  std::vector<std::string> errors;
  static const std::vector<std::string> kKnown{
      "access_token",       "refresh_token",      "expires_in", "access_expires_at",
      "refresh_expires_in", "refresh_expires_at", "scopes"};
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (std::find(kKnown.begin(), kKnown.end(), it.key()) == kKnown.end())
      errors.push_back(excerpt(it.key()) + ": unknown field");
  platforms::TokenSet tokens;
  if (!doc.contains("access_token") || !doc["access_token"].is_string() ||
      doc["access_token"].get<std::string>().empty())
    errors.emplace_back("access_token: required, a non-empty string");
  else
    tokens.access_token = Secret(doc["access_token"].get<std::string>());
  if (doc.contains("refresh_token") && !doc["refresh_token"].is_null()) {
    if (!doc["refresh_token"].is_string())
      errors.emplace_back("refresh_token: must be a string");
    else
      tokens.refresh_token = Secret(doc["refresh_token"].get<std::string>());
  }
  const std::int64_t now = now_epoch_ms();
  read_expiry(doc, "expires_in", "access_expires_at", now, tokens.access_expires_at_ms, errors);
  read_expiry(doc, "refresh_expires_in", "refresh_expires_at", now, tokens.refresh_expires_at_ms, errors);
  if (doc.contains("scopes") && !doc["scopes"].is_null()) {
    const json& scopes = doc["scopes"];
    if (scopes.is_string()) {
      tokens.scopes = scopes.get<std::string>();
    } else if (scopes.is_array() &&
               std::all_of(scopes.begin(), scopes.end(), [](const json& s) { return s.is_string(); })) {
      for (const auto& s : scopes) tokens.scopes += (tokens.scopes.empty() ? "" : " ") + s.get<std::string>();
    } else {
      errors.emplace_back("scopes: must be a string or a list of strings");
    }
  }
  // Scrub the document's copies of the tokens before anything else can see it.
  for (const char* k : {"access_token", "refresh_token"})
    if (doc.contains(k) && doc[k].is_string()) {
      auto& s = doc[k].get_ref<std::string&>();
      OPENSSL_cleanse(s.data(), s.size());
    }
  if (!errors.empty()) {
    for (const auto& e : errors) std::cerr << "schedulo account add: " << e << "\n";
    return kExitUsage;
  }
  std::string vault_error;
  auto vault = load_vault(*config, vault_error);
  if (!vault) {
    std::cerr << "schedulo account add: " << vault_error << "\n";
    return kExitUsage;
  }
  return run_with_redis(*config, [&](redis::Client& client, const queue::Keys& keys) -> net::awaitable<int> {
    tokens::TokenStore store(client, keys, *vault);
    auto put = co_await store.put(*ref, tokens, 0, tokens::AccountStatus::active, "", now);
    if (!put) {
      std::cerr << "schedulo account add: " << put.error().message() << "\n";
      co_return kExitFailure;
    }
    if (!put->written) {
      std::cerr << "schedulo account add: " << ref->member() << ": a newer token (version " << put->version
                << ") was stored meanwhile; nothing changed\n";
      co_return kExitFailure;
    }
    std::cout << ref->member() << ": stored as version " << put->version << " (active), sealed with key "
              << vault->current_key_id() << "\n";
    co_return kExitOk;
  });
}

int command_account_show(const std::string& config_path, const std::string& target) {
  auto config = load_config(config_path);
  if (!config) return kExitUsage;
  auto ref = parse_target("account show", target);
  if (!ref) return kExitUsage;
  std::string vault_error;
  auto vault = load_vault(*config, vault_error);
  if (!vault) {
    std::cerr << "schedulo account show: " << vault_error << "\n";
    return kExitUsage;
  }
  return run_with_redis(*config, [&](redis::Client& client, const queue::Keys& keys) -> net::awaitable<int> {
    tokens::TokenStore store(client, keys, *vault);
    auto loaded = co_await store.load(*ref);
    if (!loaded) {
      std::cerr << "schedulo account show: " << loaded.error().message() << "\n";
      co_return kExitFailure;
    }
    if (!*loaded) {
      std::cerr << "schedulo account show: " << ref->member() << ": no such account\n";
      co_return kExitFailure;
    }
    auto lock = co_await client.exec("EXISTS", keys.token_lock(ref->platform, ref->account));
    const bool refreshing = lock && lock->is_integer() && lock->integer == 1;
    std::cout << describe(**loaded, store, refreshing).dump(2) << "\n";
    co_return kExitOk;
  });
}

int command_account_list(const std::string& config_path, const std::string& platform, const std::string& status) {
  auto config = load_config(config_path);
  if (!config) return kExitUsage;
  if (!status.empty() && !tokens::account_status_from_string(status)) {
    std::cerr << "schedulo account list: --status must be active, expiring, needs_reauth or revoked\n";
    return kExitUsage;
  }
  std::string vault_error;
  auto vault = load_vault(*config, vault_error);
  if (!vault) {
    std::cerr << "schedulo account list: " << vault_error << "\n";
    return kExitUsage;
  }
  return run_with_redis(*config, [&](redis::Client& client, const queue::Keys& keys) -> net::awaitable<int> {
    tokens::TokenStore store(client, keys, *vault);
    std::string after;
    for (;;) {
      auto page = co_await store.list(after, kPage);
      if (!page) {
        std::cerr << "schedulo account list: " << page.error().message() << "\n";
        co_return kExitFailure;
      }
      for (const auto& ref : *page) {
        if (!platform.empty() && ref.platform != platform) continue;
        auto loaded = co_await store.load(ref);
        if (!loaded || !*loaded) continue;
        if (!status.empty() && tokens::to_string((*loaded)->status) != status) continue;
        auto lock = co_await client.exec("EXISTS", keys.token_lock(ref.platform, ref.account));
        std::cout << describe(**loaded, store, lock && lock->is_integer() && lock->integer == 1).dump() << "\n";
      }
      if (page->size() < static_cast<std::size_t>(kPage)) break;
      after = page->back().member();
    }
    co_return kExitOk;
  });
}

int command_vault_rotate(const std::string& config_path) {
  auto config = load_config(config_path);
  if (!config) return kExitUsage;
  std::string vault_error;
  auto vault = load_vault(*config, vault_error);
  if (!vault) {
    std::cerr << "schedulo vault rotate: " << vault_error << "\n";
    return kExitUsage;
  }
  return run_with_redis(*config, [&](redis::Client& client, const queue::Keys& keys) -> net::awaitable<int> {
    tokens::TokenStore store(client, keys, *vault);
    const std::string& current = vault->current_key_id();
    auto total = co_await store.count();
    if (!total) {
      std::cerr << "schedulo vault rotate: " << total.error().message() << "\n";
      co_return kExitFailure;
    }
    long long done = 0, resealed = 0, already = 0, failed = 0;
    auto progress = [&] {
      std::cerr << "vault rotate: " << done << "/" << *total << " accounts (" << resealed << " re-sealed with key "
                << current << ", " << already << " already, " << failed << " failed)\n";
    };
    std::cerr << "vault rotate: re-sealing the tokens of " << *total << " accounts with key " << current << "\n";
    std::string after;
    for (;;) {
      auto page = co_await store.list(after, kPage);
      if (!page) {
        std::cerr << "schedulo vault rotate: " << page.error().message() << "\n";
        co_return kExitFailure;
      }
      for (const auto& ref : *page) {
        ++done;
        // A refresh may store a newer token between the read and the write: read again then.
        for (int tries = 0; tries < 5; ++tries) {
          auto loaded = co_await store.load(ref);
          if (!loaded) {
            ++failed;
            std::cerr << "vault rotate: " << ref.member() << ": " << loaded.error().message() << "\n";
            break;
          }
          if (!*loaded) break;  // removed meanwhile
          const auto& a = **loaded;
          const bool current_access = a.access_sealed.empty() || tokens::Vault::key_id_of(a.access_sealed) == current;
          const bool current_refresh =
              a.refresh_sealed.empty() || tokens::Vault::key_id_of(a.refresh_sealed) == current;
          if (current_access && current_refresh) {
            ++already;
            break;
          }
          std::string error;
          auto rewrapped = co_await store.rewrap(a, now_epoch_ms(), error);
          if (!rewrapped || !error.empty()) {
            ++failed;
            std::cerr << "vault rotate: " << ref.member() << ": "
                      << (error.empty() ? rewrapped.error().message() : error) << "\n";
            break;
          }
          if (*rewrapped) {
            ++resealed;
            break;
          }
          if (tries == 4) {
            ++failed;
            std::cerr << "vault rotate: " << ref.member() << ": kept changing while being re-sealed; run again\n";
          }
        }
      }
      progress();
      if (page->size() < static_cast<std::size_t>(kPage)) break;
      after = page->back().member();
    }
    std::cout << "re-sealed " << resealed << " account(s) with key " << current << "; " << already << " already were; "
              << failed << " failed\n";
    if (failed == 0 && vault->key_ids().size() > 1)
      std::cout << "every token is sealed with key " << current
                << " now: the other keys may leave the key file once Airtable has the new values\n";
    co_return failed == 0 ? kExitOk : kExitFailure;
  });
}

int command_vault_keygen(const std::string& id) {
  std::string key_id = id;
  if (key_id.empty()) {
    // Sortable by creation: k20260111T093000
    std::string stamp = format_rfc3339_ms(now_epoch_ms());  // YYYY-MM-DDTHH:MM:SS.mmmZ
    key_id = "k";
    for (const char c : stamp.substr(0, 19))
      if (c != '-' && c != ':') key_id += c;
  }
  if (!tokens::Vault::valid_key_id(key_id)) {
    std::cerr << "schedulo vault keygen: the key id must be 1 to 32 of A-Z a-z 0-9 _ . -\n";
    return kExitUsage;
  }
  std::cout << "# schedulo vault key, made " << format_rfc3339_ms(now_epoch_ms())
            << "; the first key in the file seals new values\n"
            << tokens::Vault::generate_key_line(key_id) << "\n";
  return kExitOk;
}

}  // namespace schedulo::daemon
