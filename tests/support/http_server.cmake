# schedulo_http_test_server: the Beast test server of tests/support, shared by the http tests and
# bench/http_bench (which is built without the test suite). Included from both; defined once.
if(NOT TARGET schedulo_http_test_server)
  add_library(schedulo_http_test_server STATIC ${CMAKE_SOURCE_DIR}/tests/support/http_server.cpp)
  target_link_libraries(schedulo_http_test_server PUBLIC schedulo_beast PRIVATE schedulo_warnings)
  target_include_directories(schedulo_http_test_server PUBLIC ${CMAKE_SOURCE_DIR})
endif()
