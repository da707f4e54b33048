#pragma once
// Transport-level failures of the Redis client, as error codes. Whether a command took effect is
// known for every code but connection_lost, which means "written, no answer": the caller must treat
// a state change sent then as outcome-unknown.
#include <boost/system/error_code.hpp>

#include <type_traits>

namespace schedulo::redis {

enum class Errc {
  not_connected = 1,  // never written: no connection came up before the deadline
  connection_lost,    // written, then the connection failed before the reply
  timeout,            // written, no reply before the deadline (the connection is reset)
  protocol_error,     // the server sent bytes that are not RESP, or an unexpected reply
  stopped,            // the client was stopped
  handshake_failed,   // AUTH, SELECT or the role check failed
  no_primary,         // no sentinel named a reachable primary
};

const boost::system::error_category& error_category();

inline boost::system::error_code make_error_code(Errc e) {
  return {static_cast<int>(e), error_category()};
}

}  // namespace schedulo::redis

template <>
struct boost::system::is_error_code_enum<schedulo::redis::Errc> : std::true_type {};
