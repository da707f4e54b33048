#pragma once
// RFC 3339 timestamps <-> milliseconds since the Unix epoch (UTC). Used for job run_at and for every
// time we write to Redis or Airtable, so both ends agree on one format.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace schedulo {

// Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"; 'T' may be 't' or a space, 'Z' may be 'z'.
// Calendar fields are range-checked (Feb 29 only in leap years). A leap second (:60) is accepted and
// read as :59.999. Returns nullopt on anything else.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);

// Formats as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string format_rfc3339_ms(std::int64_t epoch_ms);

// Wall-clock now in ms since the epoch.
std::int64_t now_epoch_ms();

}  // namespace schedulo
