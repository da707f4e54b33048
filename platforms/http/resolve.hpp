#pragma once
// DNS for untrusted URLs (architecture rule 13): the host is resolved once, every address it
// resolves to is checked against the address policy, and the connection is made only to those
// checked addresses (pinned). A second lookup at connect time, which DNS rebinding would exploit,
// never happens: the endpoints returned here are all the connection ever sees.
#include <boost/asio/ip/tcp.hpp>

#include <string>
#include <vector>

#include "common/net.hpp"
#include "platforms/http/errors.hpp"
#include "platforms/http/message.hpp"
#include "platforms/http/url.hpp"

namespace schedulo::http {

class AddressPolicy;

using Endpoints = std::vector<boost::asio::ip::tcp::endpoint>;

// The host's addresses, all allowed by `policy` (an IP literal is its own address; a host name
// allow-listed by name may resolve anywhere). One non-public address among the answers refuses the
// whole host, naming it: "host files.example resolves to 10.0.0.7, a private (RFC 1918) address".
net::awaitable<Result<Endpoints>> resolve_pinned(const Url& url, const AddressPolicy& policy, Clock::time_point deadline);

// The check alone, on addresses already resolved for `host`.
Result<Endpoints> check_resolved(const std::string& host, const Endpoints& resolved, const AddressPolicy& policy);

}  // namespace schedulo::http
