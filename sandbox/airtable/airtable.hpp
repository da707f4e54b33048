#pragma once
// The Airtable Web API emulator (platform-apis.md section 5): records (list with pages, fields and
// filterByFormula, get, create, update, upsert, delete), the meta tables endpoint and whoami; the
// limits (10 records per request, 5 requests/s per base and 50 per token with the 30 s penalty, a
// monthly call quota, a record cap per base) and Airtable's error shapes.
#include <memory>
#include <string>

#include "sandbox/core/core.hpp"

namespace schedulo::sandbox::airtable {

inline constexpr const char* kBaseId = "appSandboxBase001";
// Personal access tokens: read-write on the base; read-only scopes; a valid user without access to
// the base; a token with write scopes whose user may only read the base (a commenter).
inline constexpr const char* kToken = "patSbxReadWrite01.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
inline constexpr const char* kReadOnlyToken = "patSbxReadOnly001.1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
inline constexpr const char* kNoAccessToken = "patSbxNoAccess001.2123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
inline constexpr const char* kCommenterToken = "patSbxCommenter01.3123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// Registers the emulator's routes and admin routes (/_sandbox/airtable/...) on the core. The routes
// point into the returned emulator: keep it as long as the server runs.
std::shared_ptr<void> install(Core& core);

}  // namespace schedulo::sandbox::airtable
