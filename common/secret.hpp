#pragma once
// A secret's plaintext in memory (architecture rule 6): an access or refresh token, a key. It cannot
// be streamed or formatted (no operator<<, no fmt formatter), so it does not reach a log line or an
// error message by accident; reveal() is the one, greppable, way to the bytes. The bytes are wiped when
// the value dies.
#include <openssl/crypto.h>

#include <string>
#include <string_view>
#include <utility>

namespace schedulo {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret& other) = default;
  Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  Secret& operator=(const Secret& other) {
    if (this != &other) {
      wipe();
      value_ = other.value_;
    }
    return *this;
  }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      wipe();
      value_ = std::move(other.value_);
      other.wipe();
    }
    return *this;
  }
  ~Secret() { wipe(); }

  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  std::size_t size() const { return value_.size(); }

  // Constant-time for equal lengths: comparing a presented token must not leak how much matched.
  friend bool operator==(const Secret& a, const Secret& b) {
    return a.value_.size() == b.value_.size() && CRYPTO_memcmp(a.value_.data(), b.value_.data(), a.value_.size()) == 0;
  }

 private:
  void wipe() {
    if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
    value_.clear();
  }
  std::string value_;
};

}  // namespace schedulo
