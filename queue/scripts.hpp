#pragma once
// The queue's Lua scripts by name, each loaded once per process (EVALSHA; EVAL when Redis lost it).
#include <string_view>

#include "queue/redis/script.hpp"

namespace schedulo::queue {

// Throws std::out_of_range for a name that has no script: a programming error caught by any test.
const redis::Script& script(std::string_view name);

}  // namespace schedulo::queue
