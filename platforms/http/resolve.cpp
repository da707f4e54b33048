#include "platforms/http/resolve.hpp"

#include "common/deadline.hpp"
#include "platforms/http/address_policy.hpp"

namespace schedulo::http {

namespace ip = boost::asio::ip;

Result<Endpoints> check_resolved(const std::string& host, const Endpoints& resolved, const AddressPolicy& policy) {
  if (resolved.empty()) return Error{ErrorKind::resolve, "host " + host + " has no address"};
  if (policy.host_allowed(host)) return resolved;
  for (const auto& endpoint : resolved) {
    const ip::address address = endpoint.address();
    if (policy.address_allowed(address)) continue;
    const std::string range(AddressPolicy::non_public_range(address).value_or("non-public"));
    std::string message = "host " + host;
    message += address.to_string() == host ? " is " : " resolves to " + address.to_string() + ", ";
    message += article(range);
    message += " " + range + " address; allow it in security.allow_private_hosts";
    return Error{ErrorKind::refused_address, std::move(message)};
  }
  return resolved;
}

net::awaitable<Result<Endpoints>> resolve_pinned(const Url& url, const AddressPolicy& policy,
                                                 Clock::time_point deadline) {
  if (url.host_is_ip) {
    net::error_code ec;
    const ip::address address = ip::make_address(url.host, ec);
    if (ec) co_return Error{ErrorKind::bad_url, "host " + url.host + " is not a valid IP address"};
    co_return check_resolved(url.host, Endpoints{{address, url.port}}, policy);
  }
  net::TcpResolver resolver(co_await net::asio::this_coro::executor);
  const auto left = std::max(deadline - Clock::now(), Clock::duration::zero());
  auto answer = co_await net::with_timeout(
      resolver.async_resolve(url.host, std::to_string(url.port), ip::resolver_base::numeric_service), left);
  if (!answer) co_return Error{ErrorKind::timeout, "timed out resolving " + url.host};
  auto& [ec, results] = *answer;
  if (ec) co_return Error{ErrorKind::resolve, "cannot resolve " + url.host + ": " + ec.message()};
  Endpoints endpoints;
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  co_return check_resolved(url.host, endpoints, policy);
}

}  // namespace schedulo::http
