#include "daemon/config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstdio>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/config_schema.hpp"

extern char** environ;

namespace schedulo::daemon {
namespace {

using json = nlohmann::json;

std::string env_name(std::string_view key) {
  std::string out = "SCHEDULO_";
  for (char c : key) {
    if (c == '.')
      out += "__";
    else
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

// Levenshtein distance, for "did you mean" on unknown keys.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string suggestion(std::string_view key) {
  std::string best;
  std::size_t best_d = 4;
  for (const auto& s : config_schema()) {
    const auto d = distance(key, s.key);
    if (d < best_d) {
      best_d = d;
      best = s.key;
    }
  }
  return best.empty() ? "" : " (did you mean \"" + best + "\"?)";
}

bool is_prefix_of_some_key(const std::string& path) {
  return std::any_of(config_schema().begin(), config_schema().end(),
                     [&](const Setting& s) { return s.key.starts_with(path + "."); });
}

// Walks the file's JSON, collecting leaf values by dotted key and refusing keys the schema lacks.
void flatten(const json& node, const std::string& path, std::map<std::string, json>& out,
             std::vector<ConfigError>& errors) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = path.empty() ? it.key() : path + "." + it.key();
    if (find_setting(key)) {
      out[key] = it.value();
    } else if (it.value().is_object() && is_prefix_of_some_key(key)) {
      flatten(it.value(), key, out, errors);
    } else if (is_prefix_of_some_key(key)) {
      errors.push_back({key, "must be an object"});
    } else {
      errors.push_back({key, "unknown key" + suggestion(key)});
    }
  }
}

std::optional<json> from_text(const Setting& s, const std::string& text, std::string& error) {
  switch (s.kind) {
    case Kind::string: return json(text);
    case Kind::boolean:
      if (text == "true" || text == "1" || text == "yes") return json(true);
      if (text == "false" || text == "0" || text == "no") return json(false);
      error = "must be true or false";
      return std::nullopt;
    case Kind::integer: {
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || errno != 0) {
        error = "must be an integer";
        return std::nullopt;
      }
      return json(v);
    }
    case Kind::number: {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0') {
        error = "must be a number";
        return std::nullopt;
      }
      return json(v);
    }
    case Kind::string_list: {
      json list = json::array();
      std::stringstream in(text);
      for (std::string item; std::getline(in, item, ',');) {
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) list.push_back(item);
      }
      return list;
    }
  }
  return std::nullopt;
}

bool has_kind(const Setting& s, const json& v) {
  switch (s.kind) {
    case Kind::string: return v.is_string();
    case Kind::integer: return v.is_number_integer();
    case Kind::number: return v.is_number();
    case Kind::boolean: return v.is_boolean();
    case Kind::string_list:
      return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
  }
  return false;
}

std::string read_credential(const std::string& dir, const std::string& key, bool& found) {
  const std::string path = dir + "/" + key;
  std::error_code ec;
  found = std::filesystem::is_regular_file(path, ec);  // a directory would read as an empty secret
  if (!found) return {};
  std::ifstream in(path, std::ios::binary);
  found = static_cast<bool>(in);
  if (!found) return {};
  std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value;
}

std::pair<int, int> line_and_column(const std::string& text, std::size_t byte) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

Config build_config(const std::map<std::string, json>& v) {
  auto str = [&](const char* k) { return v.at(k).get<std::string>(); };
  auto integer = [&](const char* k) { return v.at(k).get<long long>(); };
  Config c;
  c.redis.url = str("redis.url");
  std::string ignored;
  c.redis.parsed = *redis::parse_redis_url(c.redis.url, ignored);
  if (const auto pw = str("redis.password"); !pw.empty()) c.redis.parsed.password = pw;
  c.redis.prefix = str("redis.prefix");
  c.redis.connect_timeout_ms = static_cast<int>(integer("redis.connect_timeout_ms"));
  c.redis.command_timeout_ms = static_cast<int>(integer("redis.command_timeout_ms"));
  c.redis.require_durability = v.at("redis.require_durability").get<bool>();
  c.http.listen = str("http.listen");
  c.http.token = str("http.token");
  c.http.public_url = str("http.public_url");
  c.airtable.base_url = str("airtable.base_url");
  c.airtable.base_id = str("airtable.base_id");
  c.airtable.token = str("airtable.token");
  c.airtable.accounts_table = str("airtable.tables.accounts");
  c.airtable.posts_table = str("airtable.tables.posts");
  c.airtable.analytics_table = str("airtable.tables.analytics");
  c.airtable.events_table = str("airtable.tables.events");
  c.airtable.requests_per_second = v.at("airtable.requests_per_second").get<double>();
  c.airtable.monthly_call_budget = integer("airtable.monthly_call_budget");
  c.airtable.writeback = v.at("airtable.writeback").get<bool>();
  c.airtable.budget_warn_percent = static_cast<int>(integer("airtable.budget_warn_percent"));
  c.airtable.budget_reserve_percent = static_cast<int>(integer("airtable.budget_reserve_percent"));
  c.airtable.writers = static_cast<int>(integer("airtable.writers"));
  c.airtable.batch_linger_ms = static_cast<int>(integer("airtable.batch_linger_ms"));
  c.airtable.analytics_followups = v.at("airtable.analytics_followups").get<std::vector<std::string>>();
  c.airtable.analytics_history = static_cast<int>(integer("airtable.analytics_history"));
  c.airtable.account_cache_ttl_s = integer("airtable.account_cache_ttl_s");
  c.airtable.account_sweep_interval_s = integer("airtable.account_sweep_interval_s");
  for (const char* name : {"instagram", "facebook", "tiktok", "x"}) {
    const std::string k = std::string("platforms.") + name;
    auto& p = c.platforms[name];
    p.base_url = v.at(k + ".base_url").get<std::string>();
    p.auth_url = v.at(k + ".auth_url").get<std::string>();
    p.upload_url = v.at(k + ".upload_url").get<std::string>();
    p.client_id = v.at(k + ".client_id").get<std::string>();
    p.client_secret = v.at(k + ".client_secret").get<std::string>();
  }
  c.bubble.api_token = str("bubble.api_token");
  c.bubble.callback_hosts = v.at("bubble.callback_hosts").get<std::vector<std::string>>();
  c.security.allow_private_hosts = v.at("security.allow_private_hosts").get<std::vector<std::string>>();
  c.vault.key_file = str("vault.key_file");
  c.workers.concurrency = static_cast<int>(integer("workers.concurrency"));
  c.workers.id = str("workers.id");
  if (c.workers.id.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "schedulo");
    c.workers.id = host;
  }
  c.workers.mode = str("workers.mode");
  c.workers.per_platform = static_cast<int>(integer("workers.per_platform"));
  c.workers.per_account = static_cast<int>(integer("workers.per_account"));
  c.workers.lease_ms = static_cast<int>(integer("workers.lease_ms"));
  c.workers.shutdown_grace_ms = static_cast<int>(integer("workers.shutdown_grace_ms"));
  c.workers.idle_wait_ms = static_cast<int>(integer("workers.idle_wait_ms"));
  c.workers.reaper_grace_ms = static_cast<int>(integer("workers.reaper_grace_ms"));
  c.workers.noop_delay_ms = static_cast<int>(integer("workers.noop_delay_ms"));
  c.workers.noop_call_url = str("workers.noop_call_url");
  c.tls.ca_file = str("tls.ca_file");
  c.log.format = str("log.format");
  c.log.level = str("log.level");
  c.jobs.max_attempts = static_cast<int>(integer("jobs.max_attempts"));
  c.jobs.max_job_bytes = static_cast<int>(integer("jobs.max_job_bytes"));
  c.jobs.retention_s = integer("jobs.retention_s");
  c.jobs.idempotency_window_s = std::max(integer("jobs.idempotency_window_s"), c.jobs.retention_s);
  c.jobs.retry_base_ms = static_cast<int>(integer("jobs.retry_base_ms"));
  c.jobs.retry_cap_ms = static_cast<int>(integer("jobs.retry_cap_ms"));
  // HTTP API and callbacks (issue 14)
  c.http.body_limit_bytes = static_cast<int>(integer("http.body_limit_bytes"));
  c.http.read_timeout_ms = static_cast<int>(integer("http.read_timeout_ms"));
  c.http.handler_timeout_ms = static_cast<int>(integer("http.handler_timeout_ms"));
  c.http.max_batch = static_cast<int>(integer("http.max_batch"));
  c.http.public_metrics = v.at("http.public_metrics").get<bool>();
  c.http.health_max_lag_ms = static_cast<int>(integer("http.health_max_lag_ms"));
  c.http.validate_media_timeout_ms = static_cast<int>(integer("http.validate_media_timeout_ms"));
  c.bubble.callback_signing_secret = str("bubble.callback_signing_secret");
  c.bubble.callback_timeout_ms = static_cast<int>(integer("bubble.callback_timeout_ms"));
  c.bubble.callback_max_attempts = static_cast<int>(integer("bubble.callback_max_attempts"));
  c.bubble.callback_retry_base_ms = static_cast<int>(integer("bubble.callback_retry_base_ms"));
  c.bubble.callback_retry_cap_ms = static_cast<int>(integer("bubble.callback_retry_cap_ms"));
  c.limits.max_wait_ms = static_cast<int>(integer("limits.max_wait_ms"));
  c.limits.margin_ms = static_cast<int>(integer("limits.margin_ms"));
  c.limits.rules = v.at("limits.rules").get<std::vector<std::string>>();
  c.limits.usage_slow_from_percent = static_cast<int>(integer("limits.usage_slow_from_percent"));
  c.limits.usage_spacing_ms = static_cast<int>(integer("limits.usage_spacing_ms"));
  c.limits.usage_stop_ms = static_cast<int>(integer("limits.usage_stop_ms"));
  c.limits.graph_throttle_wait_ms = static_cast<int>(integer("limits.graph_throttle_wait_ms"));
  c.breaker.failure_threshold = static_cast<int>(integer("breaker.failure_threshold"));
  c.breaker.window_ms = static_cast<int>(integer("breaker.window_ms"));
  c.breaker.min_calls = static_cast<int>(integer("breaker.min_calls"));
  c.breaker.failure_rate_percent = static_cast<int>(integer("breaker.failure_rate_percent"));
  c.breaker.open_ms = static_cast<int>(integer("breaker.open_ms"));
  c.breaker.max_open_ms = std::max(static_cast<int>(integer("breaker.max_open_ms")), c.breaker.open_ms);
  c.breaker.probe_timeout_ms = static_cast<int>(integer("breaker.probe_timeout_ms"));
  c.notifications.window_s = integer("notifications.window_s");
  c.notifications.airtable_unreachable_after_ms =
      static_cast<int>(integer("notifications.airtable_unreachable_after_ms"));
  c.tokens.refresh_timeout_ms = static_cast<int>(integer("tokens.refresh_timeout_ms"));
  c.tokens.lock_ms = static_cast<int>(integer("tokens.lock_ms"));
  c.tokens.defer_ms = static_cast<int>(integer("tokens.defer_ms"));
  c.facebook.video_transfer = str("platforms.facebook.video_transfer");
  c.facebook.status_poll_ms = static_cast<int>(integer("platforms.facebook.status_poll_ms"));
  c.facebook.reconnect_ahead_days = static_cast<int>(integer("platforms.facebook.reconnect_ahead_days"));
  // Instagram (issue 9)
  c.instagram.login_base_url = str("platforms.instagram.login_base_url");
  c.instagram.video_upload = str("platforms.instagram.video_upload");
  c.instagram.poll_interval_ms = integer("platforms.instagram.poll_interval_ms");
  c.instagram.container_timeout_ms = integer("platforms.instagram.container_timeout_ms");
  c.instagram.quota_recheck_ms = integer("platforms.instagram.quota_recheck_ms");
  c.instagram.refresh_margin_ms = integer("platforms.instagram.refresh_margin_ms");
  c.instagram.reconnect_warning_ms = integer("platforms.instagram.reconnect_warning_ms");
  c.instagram.rupload_chunk_bytes = integer("platforms.instagram.rupload_chunk_bytes");
  // Token lifecycle (issue 13)
  c.oauth.return_to_allow = v.at("oauth.return_to_allow").get<std::vector<std::string>>();
  c.oauth.state_ttl_s = static_cast<int>(integer("oauth.state_ttl_s"));
  c.oauth.state_secret = str("oauth.state_secret");
  c.oauth.pending_ttl_s = static_cast<int>(integer("oauth.pending_ttl_s"));
  c.oauth.exchange_timeout_ms = static_cast<int>(integer("oauth.exchange_timeout_ms"));
  c.sweep.interval_s = static_cast<int>(integer("sweep.interval_s"));
  c.sweep.refresh_ahead_s = integer("sweep.refresh_ahead_s");
  c.sweep.short_lived_s = integer("sweep.short_lived_s");
  c.sweep.refresh_token_ahead_s = integer("sweep.refresh_token_ahead_s");
  c.sweep.expiring_notice_s = integer("sweep.expiring_notice_s");
  c.sweep.posts_ahead_s = integer("sweep.posts_ahead_s");
  c.sweep.post_margin_s = integer("sweep.post_margin_s");
  c.sweep.check_every_s = integer("sweep.check_every_s");
  c.sweep.batch = static_cast<int>(integer("sweep.batch"));
  c.notifications.webhook_url = str("notifications.webhook_url");
  c.instagram.login_auth_url = str("platforms.instagram.login_auth_url");
  c.instagram.login_token_url = str("platforms.instagram.login_token_url");
  c.instagram.login_client_id = str("platforms.instagram.login_client_id");
  c.instagram.login_client_secret = str("platforms.instagram.login_client_secret");
  // TikTok (issue 11)
  c.tiktok.verified_prefixes = v.at("platforms.tiktok.verified_prefixes").get<std::vector<std::string>>();
  c.tiktok.chunk_bytes = integer("platforms.tiktok.chunk_bytes");
  c.tiktok.status_poll_ms = static_cast<int>(integer("platforms.tiktok.status_poll_ms"));
  c.tiktok.public_id_wait_ms = static_cast<int>(integer("platforms.tiktok.public_id_wait_ms"));
  // X (issue 12)
  c.x.upload_chunk_bytes = static_cast<int>(integer("platforms.x.upload_chunk_bytes"));
  c.x.inline_wait_ms = static_cast<int>(integer("platforms.x.inline_wait_ms"));
  c.x.reconcile_posts = static_cast<int>(integer("platforms.x.reconcile_posts"));
  c.x.text_limit = static_cast<int>(integer("platforms.x.text_limit"));
  return c;
}

}  // namespace

ConfigSources ConfigSources::from_process() {
  ConfigSources sources;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    if (!entry.starts_with("SCHEDULO_")) continue;
    const auto eq = entry.find('=');
    if (eq != std::string_view::npos) sources.environment[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY")) sources.credentials_directory = dir;
  return sources;
}

ConfigResult load_config_text(const std::string& text, const ConfigSources& sources) {
  ConfigResult result;
  json document;
  try {
    document = json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    const auto [line, column] = line_and_column(text, e.byte > 0 ? e.byte - 1 : 0);
    std::string what = e.what();
    // nlohmann's message quotes the input near the error; keep only its explanation (secrets may be near).
    if (const auto p = what.find("syntax error"); p != std::string::npos) what = what.substr(p);
    if (const auto p = what.find("; last read"); p != std::string::npos) what = what.substr(0, p);
    result.errors.push_back({"", "not valid JSON at line " + std::to_string(line) + ", column " +
                                     std::to_string(column) + ": " + what});
    return result;
  }
  if (!document.is_object()) {
    result.errors.push_back({"", "the configuration must be a JSON object"});
    return result;
  }
  std::map<std::string, json> values;
  flatten(document, "", values, result.errors);
  // A SCHEDULO_A__B variable names a key; a misspelled one must not be ignored silently. (Variables
  // without "__", such as SCHEDULO_TEST_REDIS_URL, are not configuration.)
  for (const auto& variable : sources.environment) {
    const std::string& name = variable.first;
    if (name.find("__") == std::string::npos) continue;
    const bool known = std::any_of(config_schema().begin(), config_schema().end(),
                                   [&](const Setting& s) { return env_name(s.key) == name; });
    if (!known) result.errors.push_back({name, "environment variable names no configuration key"});
  }

  for (const auto& s : config_schema()) {
    std::string error;
    if (const auto it = sources.environment.find(env_name(s.key)); it != sources.environment.end()) {
      if (auto v = from_text(s, it->second, error))
        values[s.key] = std::move(*v);
      else
        result.errors.push_back({s.key, error + " (from " + env_name(s.key) + ")"});
    }
    if (s.secret && !sources.credentials_directory.empty()) {
      bool found = false;
      auto secret = read_credential(sources.credentials_directory, s.key, found);
      if (found) values[s.key] = std::move(secret);
    }
    auto it = values.find(s.key);
    if (it == values.end()) {
      values[s.key] = s.default_value;
      continue;
    }
    if (!has_kind(s, it->second)) {
      result.errors.push_back({s.key, "must be " + std::string(kind_name(s.kind))});
      continue;
    }
    if (s.check) {
      if (auto problem = s.check(it->second)) result.errors.push_back({s.key, *problem});
    }
  }
  if (!result.errors.empty()) return result;
  result.config = build_config(values);
  return result;
}

ConfigResult load_config_file(const std::string& path, const ConfigSources& sources) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigResult r;
    r.errors.push_back({"", "cannot read " + path});
    return r;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return load_config_text(text, sources);
}

std::string format_errors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) out += (e.key.empty() ? std::string("config") : e.key) + ": " + e.message + "\n";
  return out;
}

std::string example_config() {
  // Nested output in schema order, each key preceded by its description.
  std::string out = "// Schedulo daemon configuration. Comments are allowed. Every key is shown with its\n"
                    "// default (or an example). Secrets may instead come from SCHEDULO_<KEY> environment\n"
                    "// variables or systemd credentials named after the key (LoadCredential=http.token:...).\n{\n";
  std::vector<std::string> open;  // the object path currently open
  bool first_in_object = true;
  auto indent = [&](std::size_t depth) { return std::string(2 * (depth + 1), ' '); };
  const auto& schema = config_schema();
  for (std::size_t i = 0; i < schema.size(); ++i) {
    const auto& s = schema[i];
    std::vector<std::string> parts;
    std::stringstream in(s.key);
    for (std::string p; std::getline(in, p, '.');) parts.push_back(p);
    std::vector<std::string> want(parts.begin(), parts.end() - 1);
    std::size_t common = 0;
    while (common < open.size() && common < want.size() && open[common] == want[common]) ++common;
    while (open.size() > common) {
      open.pop_back();
      out += "\n" + indent(open.size()) + "}";
      first_in_object = false;
    }
    while (open.size() < want.size()) {
      out += first_in_object ? "" : ",";
      out += "\n" + indent(open.size()) + json(want[open.size()]).dump() + ": {";
      open.push_back(want[open.size()]);
      first_in_object = true;
    }
    out += first_in_object ? "" : ",";
    out += "\n" + indent(open.size()) + "// " + s.help;
    out += "\n" + indent(open.size()) + json(parts.back()).dump() + ": " +
           (s.example.is_null() ? s.default_value : s.example).dump();
    first_in_object = false;
  }
  while (!open.empty()) {
    open.pop_back();
    out += "\n" + indent(open.size()) + "}";
  }
  out += "\n}\n";
  return out;
}

}  // namespace schedulo::daemon
