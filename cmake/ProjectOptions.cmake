# schedulo_warnings: the warning set every target of ours compiles with.
# schedulo_options: sanitizers and other whole-build switches.
add_library(schedulo_warnings INTERFACE)
target_compile_options(schedulo_warnings INTERFACE
  -Wall                  # the baseline
  -Wextra                # unused parameters, sign/enum comparisons, ...
  -Wpedantic             # non-standard extensions
  -Wshadow               # a local hiding a member or an outer local is a classic bug source
  -Wnon-virtual-dtor     # deleting through a base pointer without a virtual destructor
  -Wold-style-cast       # casts that say what they do
  -Woverloaded-virtual   # a derived overload hiding a base virtual
  -Wimplicit-fallthrough
  -Wformat=2
)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # GCC 12 reports impossible overlaps in "literal" + std::string at -O2 (GCC bug 105329).
  target_compile_options(schedulo_warnings INTERFACE -Wno-restrict)
endif()
if(WERROR)
  target_compile_options(schedulo_warnings INTERFACE -Werror)
endif()

add_library(schedulo_options INTERFACE)
if(ASAN)
  # vptr is off: it needs RTTI on every type crossing a library boundary (Boost's do not all have it).
  set(_san -fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  # Checks a build leaves out on top of vptr, after the list above so that they win over "undefined"
  # (scripts/fuzz: "function", which clang 14 cannot emit for coroutines, llvm-project#49689).
  set(SANITIZE_EXCLUDE "" CACHE STRING "Comma-separated sanitizer checks to leave out (-fno-sanitize=...)")
  if(SANITIZE_EXCLUDE)
    list(APPEND _san -fno-sanitize=${SANITIZE_EXCLUDE})
  endif()
  target_compile_options(schedulo_options INTERFACE ${_san})
  target_link_options(schedulo_options INTERFACE ${_san})
endif()
if(FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FUZZ=ON needs clang (CXX=clang++)")
  endif()
  target_compile_options(schedulo_options INTERFACE -fsanitize=fuzzer-no-link)
endif()
