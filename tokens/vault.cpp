#include "tokens/vault.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "common/log.hpp"

namespace schedulo::tokens {
namespace {

constexpr std::string_view kFormat = "v1";

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Strict standard base64 (with padding); nullopt on anything else.
std::optional<std::string> unbase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  for (const char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') return std::nullopt;
  std::string out(3 * text.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t padding = 0;
  if (text.back() == '=') ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

// The associated data: the format, the key id and where the value belongs. Binding the key id means a
// relabelled value fails to open instead of being tried with another key.
std::string associated_data(std::string_view key_id, std::string_view context) {
  std::string aad = "schedulo:";
  aad += kFormat;
  aad += ':';
  aad += key_id;
  aad += ':';
  aad += context;
  return aad;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool Vault::valid_key_id(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (const char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

Vault::~Vault() {
  for (auto& k : keys_) OPENSSL_cleanse(k.bytes.data(), k.bytes.size());
}

std::optional<Vault> Vault::from_text(std::string_view text, std::string& error) {
  Vault vault;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    const auto space = line.find_first_of(" \t");
    const std::string where = "line " + std::to_string(line_number);
    if (space == std::string_view::npos) {
      error = where + ": expected \"<key id> <base64 of 32 bytes>\"";
      return std::nullopt;
    }
    const std::string_view id = line.substr(0, space);
    const std::string_view encoded = trim(line.substr(space + 1));
    if (!valid_key_id(id)) {
      error = where + ": the key id must be 1 to 32 of A-Z a-z 0-9 _ . -";
      return std::nullopt;
    }
    if (vault.find(id)) {
      error = where + ": key id " + std::string(id) + " appears twice";
      return std::nullopt;
    }
    auto decoded = unbase64(encoded);
    if (!decoded) {
      error = where + ": key " + std::string(id) + " must be base64 of exactly 32 bytes (it is not valid base64)";
      return std::nullopt;
    }
    std::string& bytes = *decoded;
    if (bytes.size() != kKeyBytes) {
      const std::size_t got = bytes.size();
      OPENSSL_cleanse(bytes.data(), bytes.size());
      error = where + ": key " + std::string(id) + " must be base64 of exactly 32 bytes (it is " +
              std::to_string(got) + ")";
      return std::nullopt;
    }
    Key key;
    key.id = std::string(id);
    std::copy(bytes.begin(), bytes.end(), key.bytes.begin());
    OPENSSL_cleanse(bytes.data(), bytes.size());
    vault.keys_.push_back(std::move(key));
  }
  if (vault.keys_.empty()) {
    error = "no key: add a line \"<key id> <base64 of 32 bytes>\" (schedulo vault keygen prints one)";
    return std::nullopt;
  }
  return vault;
}

std::optional<Vault> Vault::load_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    log::warn("vault key file {} may be read by other users (mode {:o}); chmod 600 it", path, st.st_mode & 0777);
  std::ostringstream text;
  text << in.rdbuf();
  std::string content = text.str();
  auto vault = from_text(content, error);
  OPENSSL_cleanse(content.data(), content.size());
  if (!vault) error = path + ": " + error;
  return vault;
}

std::string Vault::generate_key_line(const std::string& id) {
  std::array<unsigned char, kKeyBytes> key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) throw std::runtime_error("the CSPRNG failed");
  std::string line = id + " " + base64(key.data(), key.size());
  OPENSSL_cleanse(key.data(), key.size());
  return line;
}

const Vault::Key* Vault::find(std::string_view id) const {
  for (const auto& k : keys_)
    if (k.id == id) return &k;
  return nullptr;
}

std::vector<std::string> Vault::key_ids() const {
  std::vector<std::string> ids;
  for (const auto& k : keys_) ids.push_back(k.id);
  return ids;
}

bool Vault::has_key(std::string_view id) const {
  return find(id) != nullptr;
}

std::string Vault::key_id_of(std::string_view sealed) {
  if (!sealed.starts_with(kFormat) || sealed.size() <= kFormat.size() || sealed[kFormat.size()] != ':') return {};
  const auto rest = sealed.substr(kFormat.size() + 1);
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos) return {};
  return std::string(rest.substr(0, colon));
}

std::string Vault::seal(std::string_view plaintext, std::string_view context) const {
  const Key& key = keys_.front();
  std::string blob(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(blob.data());
  if (RAND_bytes(out, static_cast<int>(kNonceBytes)) != 1) throw std::runtime_error("the CSPRNG failed");
  const std::string aad = associated_data(key.id, context);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  const bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes), nullptr) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes.data(), out) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), out + kNonceBytes, &n, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), out + kNonceBytes + n, &n) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          out + kNonceBytes + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM sealing failed in OpenSSL");
  std::string sealed(kFormat);
  sealed += ':';
  sealed += key.id;
  sealed += ':';
  sealed += base64(out, blob.size());
  OPENSSL_cleanse(blob.data(), blob.size());
  return sealed;
}

Opened Vault::open(std::string_view sealed, std::string_view context) const {
  Opened result;
  const std::string id = key_id_of(sealed);
  if (id.empty()) {
    result.error = "not a sealed value (expected v1:<key id>:<data>)";
    return result;
  }
  const Key* key = find(id);
  if (!key) {
    result.error = "sealed with key " + id + ", which the vault key file does not hold";
    return result;
  }
  auto decoded = unbase64(sealed.substr(kFormat.size() + 1 + id.size() + 1));
  if (!decoded || decoded->size() < kNonceBytes + kTagBytes) {
    result.error = "a sealed value with key " + id + " is truncated or not base64";
    return result;
  }
  const std::string& blob = *decoded;
  const auto* in = reinterpret_cast<const unsigned char*>(blob.data());
  const std::size_t length = blob.size() - kNonceBytes - kTagBytes;
  std::string plain(length, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  const std::string aad = associated_data(id, context);
  std::array<unsigned char, kTagBytes> tag{};
  std::copy(in + kNonceBytes + length, in + blob.size(), tag.begin());
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  const bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes), nullptr) == 1 &&
                  EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key->bytes.data(), in) == 1 &&
                  EVP_DecryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                                    static_cast<int>(aad.size())) == 1 &&
                  EVP_DecryptUpdate(ctx.get(), out, &n, in + kNonceBytes, static_cast<int>(length)) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) == 1 &&
                  EVP_DecryptFinal_ex(ctx.get(), out + n, &n) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    result.error = "a value sealed with key " + id + " failed authentication (altered, or bound to another account)";
    return result;
  }
  result.value.emplace(std::move(plain));
  return result;
}

}  // namespace schedulo::tokens
