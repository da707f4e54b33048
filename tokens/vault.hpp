#pragma once
// The vault: token plaintext sealed with AES-256-GCM (OpenSSL EVP) before it is stored anywhere
// (architecture rule 6). Each value gets a fresh random 96-bit nonce; the sealed form names the key
// that sealed it, so several keys can be live during a rotation:
//
//   v1:<key id>:<base64 of nonce(12) | ciphertext | tag(16)>
//
// The associated data binds a value to where it belongs ("x:acct-1:refresh"): a sealed token copied
// into another account's record, or into the other field, does not open.
//
// Key file (vault.key_file, or the systemd credential of that name): one key per line,
// "<key id> <base64 of 32 random bytes>", '#' comments and blank lines allowed. The first key seals
// new values; every key listed opens values. Rotation: put a new key first, run `schedulo vault
// rotate`, then drop the old line.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.hpp"

namespace schedulo::tokens {

struct Opened {
  std::optional<Secret> value;
  std::string error;  // when there is no value: why, naming the key id at most (never key or plaintext)
};

class Vault {
 public:
  static constexpr std::size_t kKeyBytes = 32;
  static constexpr std::size_t kNonceBytes = 12;
  static constexpr std::size_t kTagBytes = 16;

  // Parses a key file's text. On error returns nullopt and says which line is wrong and how (never
  // quoting the key material).
  static std::optional<Vault> from_text(std::string_view text, std::string& error);
  // Reads and parses a key file; warns (stderr-free: through the log) when others may read it.
  static std::optional<Vault> load_file(const std::string& path, std::string& error);
  // A new key line for a key file: "<id> <base64 of 32 bytes from the CSPRNG>".
  static std::string generate_key_line(const std::string& id);
  // Whether the text is a key id we accept: 1 to 32 of A-Z a-z 0-9 _ . -
  static bool valid_key_id(std::string_view id);

  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;
  Vault(Vault&&) noexcept = default;
  Vault& operator=(Vault&&) noexcept = default;
  ~Vault();

  // Sealed with the current key. `context` is the associated data the value is bound to.
  std::string seal(std::string_view plaintext, std::string_view context) const;
  Opened open(std::string_view sealed, std::string_view context) const;

  const std::string& current_key_id() const { return keys_.front().id; }
  std::vector<std::string> key_ids() const;
  bool has_key(std::string_view id) const;
  // The key id a sealed value names, or "" when it is not in the sealed form.
  static std::string key_id_of(std::string_view sealed);

 private:
  struct Key {
    std::string id;
    std::array<unsigned char, kKeyBytes> bytes{};
  };
  Vault() = default;
  const Key* find(std::string_view id) const;
  std::vector<Key> keys_;
};

}  // namespace schedulo::tokens
