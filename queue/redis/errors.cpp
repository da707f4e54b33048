#include "queue/redis/errors.hpp"

#include <string>

namespace schedulo::redis {
namespace {

// boost::system::error_category's destructor is protected and non-virtual by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "redis"; }
  std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::not_connected: return "Redis is not reachable (no connection before the deadline)";
      case Errc::connection_lost: return "the Redis connection failed after the command was sent; its effect is unknown";
      case Errc::timeout: return "Redis did not answer before the deadline";
      case Errc::protocol_error: return "Redis sent a reply that is not valid RESP";
      case Errc::stopped: return "the Redis client is stopped";
      case Errc::handshake_failed: return "the Redis handshake (AUTH, SELECT or role check) failed";
      case Errc::no_primary: return "no sentinel named a reachable primary";
    }
    return "unknown Redis client error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& error_category() {
  static const Category category;
  return category;
}

}  // namespace schedulo::redis
