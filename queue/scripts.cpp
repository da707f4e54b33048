#include "queue/scripts.hpp"

#include <map>
#include <stdexcept>
#include <string>

#include "queue/lua_sources.hpp"

namespace schedulo::queue {

const redis::Script& script(std::string_view name) {
  static const std::map<std::string, redis::Script, std::less<>> scripts = [] {
    std::map<std::string, redis::Script, std::less<>> m;
    for (const auto& s : lua_sources()) m.emplace(std::string(s.name), redis::Script(std::string(s.name), std::string(s.text)));
    return m;
  }();
  const auto it = scripts.find(name);
  if (it == scripts.end()) throw std::out_of_range("no Lua script named " + std::string(name));
  return it->second;
}

}  // namespace schedulo::queue
