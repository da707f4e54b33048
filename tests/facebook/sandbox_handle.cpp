#include "tests/facebook/sandbox_handle.hpp"

#include "tests/support/sandbox_process.hpp"

namespace schedulo::test {

struct SandboxHandle::Impl {
  SandboxProcess process{std::vector<std::string>{}};
};

SandboxHandle::SandboxHandle() : impl_(std::make_unique<Impl>()) {}
SandboxHandle::~SandboxHandle() = default;

std::uint16_t SandboxHandle::port() const {
  return impl_->process.port();
}

nlohmann::json SandboxHandle::admin(const std::string& method, const std::string& path, const nlohmann::json& body) {
  return http_json(port(), method, "/_sandbox" + path, body);
}

int SandboxHandle::admin_status(const std::string& method, const std::string& path, const nlohmann::json& body) {
  return http(port(), method, "/_sandbox" + path, body.is_null() ? "" : body.dump(),
              {{"Content-Type", "application/json"}})
      .status;
}

}  // namespace schedulo::test
