#pragma once
// The static rate limits the daemon knows by default, from shared/docs/platform-apis.md; config
// (limits.rules, "platform:scope:name=LIMIT/PERIOD[+BURST]") overrides or adds to them. Rule names are
// what each platform's CallSpec buckets use (LimitTable::bucket(platform, scope, name, subject)).
//
// Limits the reference gives only as formulas of the platform's own (Meta: 200 x daily active users
// per hour, 4800 x engaged users per 24 h) are not static: those buckets run in usage mode on Meta's
// headers instead (instagram|facebook:app:app_usage, instagram|facebook:account:buc).
#include "queue/rate_limiter.hpp"

namespace schedulo::errors {

queue::LimitTable default_limits();

}  // namespace schedulo::errors
