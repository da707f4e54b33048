#pragma once
// What every command that talks to Redis needs, built from the configuration: logging set up, an
// io_context and a started Redis client.
#include <boost/asio/io_context.hpp>

#include <map>
#include <memory>

#include "daemon/config.hpp"
#include "jobs/dispatcher.hpp"
#include "jobs/job_validation.hpp"
#include "outbox/account_cache.hpp"
#include "outbox/airtable_writer.hpp"
#include "outbox/pacing.hpp"
#include "outbox/records.hpp"
#include "outbox/schema_check.hpp"
#include "platforms/errors/call_guard.hpp"
#include "platforms/http/client.hpp"
#include "queue/circuit_breaker.hpp"
#include "queue/keys.hpp"
#include "queue/rate_limiter.hpp"
#include "queue/redis/client.hpp"
#include "queue/store.hpp"
#include "tokens/provider.hpp"
#include "tokens/vault.hpp"

namespace schedulo::daemon {

void init_logging(const Config& config);
redis::ClientOptions redis_options(const Config& config);
jobs::ValidationContext validation_context(const Config& config);
queue::QueueSettings queue_settings(const Config& config);
jobs::DispatcherOptions dispatcher_options(const Config& config);
inline const std::vector<std::string> kPlatforms{"instagram", "facebook", "tiktok", "x"};
// Rate limits, circuit breakers and the call guard (issue 5), from limits.*, breaker.* and
// airtable.requests_per_second.
queue::LimiterOptions limiter_options(const Config& config);
queue::LimitTable limit_table(const Config& config);  // defaults, the Airtable share, then limits.rules
queue::BreakerOptions breaker_options(const Config& config);
errors::GuardOptions guard_options(const Config& config);

// The token vault: vault.key_file, or else the systemd credential named vault.key_file. nullopt with
// `error` (naming the key, never key material) when neither is there or the file is not valid.
std::optional<tokens::Vault> load_vault(const Config& config, std::string& error);
tokens::ProviderOptions provider_options(const Config& config);
// ---- Airtable (issue 7) ----
// Whether outcomes go to Airtable: airtable.writeback with a base id and a token.
bool airtable_enabled(const Config& config);
http::ClientOptions http_options(const Config& config);
airtable::ClientConfig airtable_config(const Config& config);
outbox::PacingOptions pacing_options(const Config& config);
outbox::WriterOptions writer_options(const Config& config);
outbox::RecordOptions record_options(const Config& config);
outbox::AccountCacheOptions account_cache_options(const Config& config);
outbox::TableNames table_names(const Config& config);
// Runs `body` with Redis, the fleet's Airtable pacing and an Airtable client drawing from it (the
// CLI's airtable commands and resync). Fails with status 2 when Airtable is not configured.
int run_with_airtable(
    const Config& config,
    const std::function<net::awaitable<int>(queue::Store&, outbox::AirtablePacer&, airtable::Client&)>& body);

// Runs `body` on a fresh io_context with a started client; returns body's exit status.
int run_with_redis(const Config& config,
                   const std::function<net::awaitable<int>(redis::Client&, const queue::Keys&)>& body);
// The same, with the queue store over the client.
int run_with_store(const Config& config, const std::function<net::awaitable<int>(queue::Store&)>& body);

// A job's record as the CLI's `status` and the API's GET /v1/jobs/{id} show it: the hash's fields
// (JSON ones parsed, the lease's fencing token left out) and the attempt log.
nlohmann::json record_json(const queue::JobRecord& record);
// A job hash's fields as JSON: payload, result and checkpoint parsed, counters and times as numbers
// (as the callbacks send them), the lease's fencing token left out. Also the rows of GET /v1/jobs.
nlohmann::json job_fields_json(const std::map<std::string, std::string>& fields);

}  // namespace schedulo::daemon
