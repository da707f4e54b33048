#pragma once
// The token core's commands (interface.md, "Command line"): accounts and the vault. None prints a
// token: `account show|list` print status, expiry, scopes, version and which key seals each token.
#include <string>

namespace schedulo::daemon {

// Imports tokens obtained elsewhere for PLATFORM:ACCOUNT, read as one JSON object from stdin:
// {"access_token", "refresh_token"?, "expires_in"? | "access_expires_at"? (RFC 3339),
//  "refresh_expires_in"? | "refresh_expires_at"?, "scopes"? (string or list)}.
// Stored as the account's newest version (status active). 0; 2 on bad input (naming the field).
int command_account_add(const std::string& config_path, const std::string& target);
// 0; 1 when the account is unknown.
int command_account_show(const std::string& config_path, const std::string& target);
// One JSON object per line. 0.
int command_account_list(const std::string& config_path, const std::string& platform, const std::string& status);
// Re-seals every stored token with the vault's current (first) key, showing progress on stderr.
// 0; 1 when some account could not be re-sealed (its line says why).
int command_vault_rotate(const std::string& config_path);
// Prints a new key line for the key file.
int command_vault_keygen(const std::string& id);

}  // namespace schedulo::daemon
