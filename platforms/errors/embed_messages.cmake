# Generates a C++ source holding platforms/errors/messages.json as a string, so the friendly-message
# catalogue ships inside the binary and stays data. Run by CMake at build time (platforms/CMakeLists.txt).
file(READ "${JSON}" text)
set(body "// Generated from platforms/errors/messages.json by embed_messages.cmake. Do not edit.\n#include <string_view>\n\nnamespace schedulo::errors {\n\nstd::string_view message_catalogue_text() {\n  return R\"schedulo_json(${text})schedulo_json\";\n}\n\n}  // namespace schedulo::errors\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
