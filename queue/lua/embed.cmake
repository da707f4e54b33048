# Generates a C++ source holding every script of queue/lua as a string, each prefixed with the shared
# includes, so scripts ship inside the binary. Run by CMake at build time (see queue/CMakeLists.txt).
file(READ "${LUA_DIR}/includes/common.lua" common)
file(GLOB scripts "${LUA_DIR}/*.lua")
list(SORT scripts)
set(body "// Generated from queue/lua by queue/lua/embed.cmake. Do not edit.\n#include \"queue/lua_sources.hpp\"\n\nnamespace schedulo::queue {\n\nconst std::vector<LuaSource>& lua_sources() {\n  static const std::vector<LuaSource> sources = {\n")
foreach(script ${scripts})
  get_filename_component(name "${script}" NAME_WE)
  file(READ "${script}" text)
  string(APPEND body "    {\"${name}\", R\"schedulo_lua(${common}\n-- ${name}.lua\n${text})schedulo_lua\"},\n")
endforeach()
string(APPEND body "  };\n  return sources;\n}\n\n}  // namespace schedulo::queue\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
