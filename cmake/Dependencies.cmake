# Every dependency is a Debian 12 package (scripts/lib.sh installs them).
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS system)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
if(SCHEDULO_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
# Prometheus text format for /metrics (issue 14): only the core library (registry, serializer).
find_package(prometheus-cpp CONFIG REQUIRED)
# jemalloc (Debian libjemalloc-dev, the allocator Redis itself ships with) for the two long-running
# programs, schedulo and schedulo-sandbox: glibc's malloc and free were a quarter of the daemon's CPU
# per job in `scripts/bench calls` and `e2e` (every job allocates and frees coroutine frames, HTTP
# buffers, JSON nodes and Redis replies), and jemalloc took about 15 % off that CPU. Not with the
# sanitizers, which bring their own allocator; without the package the build falls back to glibc's.
option(SCHEDULO_JEMALLOC "Link jemalloc into schedulo and schedulo-sandbox (ignored with ASAN or FUZZ)" ON)
if(SCHEDULO_JEMALLOC AND NOT ASAN AND NOT FUZZ)
  pkg_check_modules(JEMALLOC IMPORTED_TARGET jemalloc)
  if(NOT JEMALLOC_FOUND)
    message(STATUS "jemalloc not found (libjemalloc-dev): schedulo and schedulo-sandbox use glibc's malloc")
  endif()
endif()
# schedulo_allocator(TARGET): the allocator chosen above, for a long-running executable.
function(schedulo_allocator target)
  if(TARGET PkgConfig::JEMALLOC)
    target_link_libraries(${target} PRIVATE PkgConfig::JEMALLOC)
  endif()
endfunction()
