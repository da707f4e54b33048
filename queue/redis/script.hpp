#pragma once
// A Lua script known by its SHA-1, run with EVALSHA and re-sent only when the server lost it.
#include <string>
#include <string_view>

namespace schedulo::redis {

class Script {
 public:
  Script(std::string name, std::string source);
  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string name_;
  std::string source_;
  std::string sha1_;
};

}  // namespace schedulo::redis
