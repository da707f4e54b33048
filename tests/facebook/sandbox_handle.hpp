#pragma once
// The sandbox for the Facebook tests: the sandbox process on the real clock and its admin routes.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace schedulo::test {

class SandboxHandle {
 public:
  SandboxHandle();  // a sandbox on the real clock (video processing runs on it)
  ~SandboxHandle();
  SandboxHandle(const SandboxHandle&) = delete;
  SandboxHandle& operator=(const SandboxHandle&) = delete;

  std::uint16_t port() const;
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port()); }
  // An admin route under /_sandbox (JSON in and out).
  nlohmann::json admin(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr);
  // The HTTP status of an admin call.
  int admin_status(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace schedulo::test
