#pragma once
// Every Redis key name of a deployment is built here, under its prefix (redis.prefix). A bridge such as
// Webdis writes to inbox() and control() by name, so these two are part of the external interface.
#include <string>
#include <string_view>

namespace schedulo::queue {

class Keys {
 public:
  explicit Keys(std::string prefix) : prefix_(std::move(prefix)) {}
  const std::string& prefix() const { return prefix_; }

  std::string inbox() const { return prefix_ + ":inbox"; }      // LPUSH <job-json>
  std::string control() const { return prefix_ + ":control"; }  // LPUSH {"op":"cancel"|"replace",...}
  std::string job(std::string_view id) const { return prefix_ + ":job:" + std::string(id); }

 private:
  std::string prefix_;
};

}  // namespace schedulo::queue
