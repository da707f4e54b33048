# Install layout and the Debian package, from one description (docs/operations.md, "Installing"):
#   cmake --install BUILD [--prefix P]   P/bin/schedulo, P/bin/schedulo-sandbox (installed by daemon/ and
#                                        sandbox/), P/lib/systemd/system/schedulo.service,
#                                        P/share/doc/schedulo/ (README, docs, examples/), and the example
#                                        configuration in /etc/schedulo when P is /usr, else P/etc/schedulo
#   (cd BUILD && cpack)                  schedulo_<version>_<arch>.deb with prefix /usr
include(GNUInstallDirs)

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(FILES systemd/schedulo.json.example DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# Every key with its description and default, printed by the binary itself so it never lags the schema.
set(SCHEDULO_ALL_KEYS ${CMAKE_BINARY_DIR}/schedulo.all-keys.json)
add_custom_command(OUTPUT ${SCHEDULO_ALL_KEYS}
  COMMAND sh -c "\"$1\" config example > \"$2\"" sh $<TARGET_FILE:schedulo> ${SCHEDULO_ALL_KEYS}
  DEPENDS schedulo
  COMMENT "schedulo config example > schedulo.all-keys.json"
  VERBATIM)
add_custom_target(schedulo_all_keys ALL DEPENDS ${SCHEDULO_ALL_KEYS})
install(FILES ${SCHEDULO_ALL_KEYS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# The unit and /etc/schedulo/schedulo.json.example: their paths depend on the prefix given at install
# time, so a script decides them then.
configure_file(cmake/InstallSystem.cmake.in ${CMAKE_BINARY_DIR}/install_system.cmake @ONLY)
install(SCRIPT ${CMAKE_BINARY_DIR}/install_system.cmake)

# The Debian package. Depends comes from the shared libraries the binaries actually link
# (dpkg-shlibdeps); the ops test (tests/daemon/package_test.cpp) checks it against readelf and installs
# and removes the package in a throwaway root.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME schedulo)
set(CPACK_PACKAGE_VENDOR "Schedulo")
set(CPACK_PACKAGE_CONTACT "Schedulo operators <ops@schedulo.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Schedulo worker daemon: social publishing jobs from Bubble via Redis")
set(_schedulo_description "Runs publish, token-refresh, analytics and revoke jobs that a Bubble app
enqueues in Redis against Instagram, Facebook Pages, TikTok and X, and writes outcomes back to
Airtable. Ships the daemon (schedulo), the platform emulators (schedulo-sandbox), a hardened systemd
unit and the operator documentation.")
if(ASAN)
  string(APPEND _schedulo_description "\nThis is a test build with AddressSanitizer and UndefinedBehaviorSanitizer.")
endif()
set(CPACK_PACKAGE_DESCRIPTION "${_schedulo_description}")
# Install with DESTDIR and prefix /usr, so /etc paths land in the package as /etc.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# zstd: Debian 12's dpkg reads it, and it packs the 150 MB of an ASan build in seconds, not a minute.
set(CPACK_DEBIAN_COMPRESSION_TYPE zstd)
# Redis may run elsewhere; 6.2 is the oldest with the commands the queue scripts use (ZRANGE BYSCORE).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "redis-server (>= 5:6.2)")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "webdis")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/systemd/debian/postinst ${CMAKE_SOURCE_DIR}/systemd/debian/prerm
  ${CMAKE_SOURCE_DIR}/systemd/debian/postrm ${CMAKE_SOURCE_DIR}/systemd/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
