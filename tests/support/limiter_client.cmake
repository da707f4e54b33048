# schedulo-limiter-client: one "daemon" of the shared-bucket test (label `errors`) and of
# bench/limits_bench (scripts/bench limits), which is built without the test suite. Defined once.
if(NOT TARGET schedulo-limiter-client)
  add_executable(schedulo-limiter-client ${CMAKE_SOURCE_DIR}/tests/support/limiter_client.cpp)
  target_link_libraries(schedulo-limiter-client PRIVATE schedulo_queue schedulo_platforms CLI11::CLI11 schedulo_warnings)
  target_include_directories(schedulo-limiter-client PRIVATE ${CMAKE_SOURCE_DIR})
endif()
