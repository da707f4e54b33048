#pragma once
// The daemon's configuration: one JSON file (comments allowed), then environment overrides, then
// systemd credential files for secrets. Every key is declared once in the schema (config_schema.cpp)
// with its type, default, description and check; a value that fails its check, an unknown key, or a
// wrong type stops the start with an error that names the key.
//
// Environment:  SCHEDULO_<KEY>, the key upper-cased with '.' as "__": SCHEDULO_REDIS__URL,
//               SCHEDULO_HTTP__TOKEN; lists are comma-separated.
// Credentials:  for secret keys, $CREDENTIALS_DIRECTORY/<key> (systemd LoadCredential=http.token:...)
//               wins over both; a trailing newline is dropped.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "queue/redis/redis_url.hpp"

namespace schedulo::daemon {

struct PlatformConfig {
  std::string base_url;
  std::string auth_url;
  std::string upload_url;
  std::string client_id;
  std::string client_secret;
};

struct Config {
  struct {
    std::string url;
    redis::RedisUrl parsed;  // url with redis.password applied
    std::string prefix;
    int connect_timeout_ms = 0;
    int command_timeout_ms = 0;
    bool require_durability = true;
  } redis;
  struct {
    std::string listen;
    std::string token;
    std::string public_url;
    // HTTP API (issue 14)
    int body_limit_bytes = 0;
    int read_timeout_ms = 0;
    int handler_timeout_ms = 0;
    int max_batch = 0;
    bool public_metrics = true;
    int health_max_lag_ms = 0;
    int validate_media_timeout_ms = 0;
  } http;
  struct {
    std::string base_url;
    std::string base_id;
    std::string token;
    std::string accounts_table, posts_table, analytics_table, events_table;
    double requests_per_second = 0;
    long long monthly_call_budget = 0;
    // The writer, the budget and the account cache (issue 7, docs/airtable.md).
    bool writeback = true;
    int budget_warn_percent = 0;
    int budget_reserve_percent = 0;
    int writers = 0;
    int batch_linger_ms = 0;
    std::vector<std::string> analytics_followups;
    int analytics_history = 0;
    long long account_cache_ttl_s = 0;
    long long account_sweep_interval_s = 0;
  } airtable;
  std::map<std::string, PlatformConfig> platforms;  // instagram, facebook, tiktok, x
  struct {
    std::string api_token;
    std::vector<std::string> callback_hosts;
    // Callbacks (issue 14)
    std::string callback_signing_secret;
    int callback_timeout_ms = 0;
    int callback_max_attempts = 0;
    int callback_retry_base_ms = 0;
    int callback_retry_cap_ms = 0;
  } bubble;
  struct {
    std::vector<std::string> allow_private_hosts;
  } security;
  struct {
    std::string key_file;
  } vault;
  struct {
    int concurrency = 0;
    std::string id;  // resolved: the host name when the key is empty
    std::string mode;
    int per_platform = 0;
    int per_account = 0;
    int lease_ms = 0;
    int shutdown_grace_ms = 0;
    int idle_wait_ms = 0;
    int reaper_grace_ms = 0;
    int noop_delay_ms = 0;
    std::string noop_call_url;  // issue 16: one HTTP GET per noop job (benchmarks)
  } workers;
  struct {
    std::string ca_file;
  } tls;
  struct {
    std::string format;
    std::string level;
  } log;
  struct {
    int max_attempts = 0;
    int max_job_bytes = 0;
    long long retention_s = 0;
    long long idempotency_window_s = 0;
    int retry_base_ms = 0;
    int retry_cap_ms = 0;
  } jobs;
  // Rate limits, circuit breakers and notifications (issue 5).
  struct {
    int max_wait_ms = 0;
    int margin_ms = 0;
    std::vector<std::string> rules;
    int usage_slow_from_percent = 0;
    int usage_spacing_ms = 0;
    int usage_stop_ms = 0;
    int graph_throttle_wait_ms = 0;  // issue 16
  } limits;
  struct {
    int failure_threshold = 0;
    int window_ms = 0;
    int min_calls = 0;
    int failure_rate_percent = 0;
    int open_ms = 0;
    int max_open_ms = 0;
    int probe_timeout_ms = 0;
  } breaker;
  struct {
    long long window_s = 0;
    int airtable_unreachable_after_ms = 0;
    std::string webhook_url;  // issue 13: "" = Events rows only
  } notifications;
  struct {
    int refresh_timeout_ms = 0;
    int lock_ms = 0;
    int defer_ms = 0;
  } tokens;
  // Facebook Pages (issue 10).
  struct {
    std::string video_transfer;
    int status_poll_ms = 0;
    int reconnect_ahead_days = 0;
  } facebook;
  // Instagram (issue 9): platforms.instagram.* beyond the common platform keys.
  struct {
    std::string login_base_url;
    std::string video_upload;
    long long poll_interval_ms = 0;
    long long container_timeout_ms = 0;
    long long quota_recheck_ms = 0;
    long long refresh_margin_ms = 0;
    long long reconnect_warning_ms = 0;
    long long rupload_chunk_bytes = 0;
    // Instagram Login's connect flow (issue 13)
    std::string login_auth_url;
    std::string login_token_url;
    std::string login_client_id;      // "" = platforms.instagram.client_id
    std::string login_client_secret;  // "" = platforms.instagram.client_secret
  } instagram;
  // Token lifecycle (issue 13).
  struct {
    std::vector<std::string> return_to_allow;
    int state_ttl_s = 0;
    std::string state_secret;
    int pending_ttl_s = 0;
    int exchange_timeout_ms = 0;
  } oauth;
  struct {
    int interval_s = 0;
    long long refresh_ahead_s = 0;
    long long short_lived_s = 0;
    long long refresh_token_ahead_s = 0;
    long long expiring_notice_s = 0;
    long long posts_ahead_s = 0;
    long long post_margin_s = 0;
    long long check_every_s = 0;
    int batch = 0;
  } sweep;
  // TikTok (issue 11): platforms.tiktok.* beyond the common platform keys.
  struct {
    std::vector<std::string> verified_prefixes;
    long long chunk_bytes = 0;
    int status_poll_ms = 0;
    int public_id_wait_ms = 0;
  } tiktok;
  // X (issue 12)
  struct {
    int upload_chunk_bytes = 0;
    int inline_wait_ms = 0;
    int reconcile_posts = 0;
    int text_limit = 0;
  } x;
};

struct ConfigError {
  std::string key;      // the offending key ("" for the file as a whole)
  std::string message;  // what is wrong and what is expected; never a secret's value
};

struct ConfigResult {
  std::optional<Config> config;
  std::vector<ConfigError> errors;  // all of them, not only the first
};

// Where overrides come from; tests pass their own.
struct ConfigSources {
  std::map<std::string, std::string> environment;  // name -> value
  std::string credentials_directory;               // "" = none
  static ConfigSources from_process();
};

ConfigResult load_config_text(const std::string& text, const ConfigSources& sources);
ConfigResult load_config_file(const std::string& path, const ConfigSources& sources);

// A complete example with a comment on every key: what `schedulo config example` prints.
std::string example_config();

// "key: message" lines, one per error.
std::string format_errors(const std::vector<ConfigError>& errors);

}  // namespace schedulo::daemon
