#include "queue/redis/redis_url.hpp"

#include <charconv>

namespace schedulo::redis {
namespace {

constexpr int kMaxDb = 15999;  // far above Redis' default 16; the server rejects what it lacks

std::string percent_decode(std::string_view s, bool& ok) {
  std::string out;
  ok = true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) {
        ok = false;
        return out;
      }
      int v = 0;
      const auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (r.ec != std::errc() || r.ptr != s.data() + i + 3) {
        ok = false;
        return out;
      }
      out += static_cast<char>(v);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool parse_endpoint(std::string_view s, std::uint16_t default_port, Endpoint& ep, std::string& error) {
  std::string_view host = s, port;
  if (!s.empty() && s.front() == '[') {  // [ipv6]:port
    const auto close = s.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated '[' in host \"" + std::string(s) + "\"";
      return false;
    }
    host = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        error = "unexpected text after ']' in \"" + std::string(s) + "\"";
        return false;
      }
      port = rest.substr(1);
    }
  } else if (const auto colon = s.rfind(':'); colon != std::string_view::npos) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty()) {
    error = "missing host";
    return false;
  }
  ep.host = std::string(host);
  ep.port = default_port;
  if (!port.empty()) {
    unsigned v = 0;
    const auto r = std::from_chars(port.data(), port.data() + port.size(), v);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || v == 0 || v > 65535) {
      error = "port \"" + std::string(port) + "\" is not a number from 1 to 65535";
      return false;
    }
    ep.port = static_cast<std::uint16_t>(v);
  }
  return true;
}

bool parse_db(std::string_view s, int& db, std::string& error) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), db);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || db < 0 || db > kMaxDb) {
    error = "database \"" + std::string(s) + "\" is not a number from 0 to " + std::to_string(kMaxDb);
    return false;
  }
  return true;
}

}  // namespace

std::optional<RedisUrl> parse_redis_url(std::string_view text, std::string& error) {
  RedisUrl url;
  std::string_view rest;
  if (text.starts_with("redis://")) {
    rest = text.substr(8);
  } else if (text.starts_with("rediss://")) {
    url.mode = RedisUrl::Mode::tls;
    rest = text.substr(9);
  } else if (text.starts_with("redis-sentinel://")) {
    url.mode = RedisUrl::Mode::sentinel;
    rest = text.substr(17);
  } else {
    error = "must start with redis://, rediss:// or redis-sentinel://";
    return std::nullopt;
  }

  // The userinfo ends at the last '@': an unescaped '/' or '?' in a password must not make the
  // password look like a host or path (and then appear in an error message).
  std::string_view userinfo;
  bool has_userinfo = false;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    has_userinfo = true;
  }
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest, path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  if (has_userinfo) {
    bool ok = true;
    if (const auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      url.username = percent_decode(userinfo.substr(0, colon), ok);
      if (ok) url.password = percent_decode(userinfo.substr(colon + 1), ok);
    } else {
      url.password = percent_decode(userinfo, ok);  // redis://secret@host: a bare password
    }
    if (!ok) {
      error = "bad %-escape in the user or password part";
      return std::nullopt;
    }
  }

  const std::uint16_t default_port = url.mode == RedisUrl::Mode::sentinel ? 26379 : 6379;
  std::size_t start = 0;
  while (start <= authority.size()) {
    const auto comma = authority.find(',', start);
    const auto part = authority.substr(start, comma == std::string_view::npos ? authority.npos : comma - start);
    Endpoint ep;
    if (!parse_endpoint(part, default_port, ep, error)) return std::nullopt;
    url.endpoints.push_back(std::move(ep));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (url.mode != RedisUrl::Mode::sentinel && url.endpoints.size() != 1) {
    error = "several hosts are only allowed with redis-sentinel://";
    return std::nullopt;
  }

  if (url.mode == RedisUrl::Mode::sentinel) {
    const auto slash = path.find('/');
    url.master_name = std::string(path.substr(0, slash));
    if (url.master_name.empty()) {
      error = "redis-sentinel:// needs the master's name as its path (redis-sentinel://host:26379/mymaster)";
      return std::nullopt;
    }
    if (slash != std::string_view::npos && !parse_db(path.substr(slash + 1), url.db, error))
      return std::nullopt;
  } else if (!path.empty() && !parse_db(path, url.db, error)) {
    return std::nullopt;
  }

  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = kv.find('=');
    const auto key = kv.substr(0, eq);
    const auto value = eq == std::string_view::npos ? std::string_view{} : kv.substr(eq + 1);
    bool ok = true;
    if (key == "sentinel_password") {
      url.sentinel_password = percent_decode(value, ok);
    } else {
      error = "unknown parameter \"" + std::string(key) + "\" (known: sentinel_password)";
      return std::nullopt;
    }
    if (!ok) {
      error = "bad %-escape in " + std::string(key);
      return std::nullopt;
    }
  }
  return url;
}

std::string RedisUrl::redacted() const {
  std::string out = mode == Mode::direct ? "redis://" : mode == Mode::tls ? "rediss://" : "redis-sentinel://";
  if (!username.empty() || !password.empty()) out += username + (password.empty() ? "" : ":***") + "@";
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    if (i) out += ',';
    const bool v6 = endpoints[i].host.find(':') != std::string::npos;
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "x" + std::to_string(...).
    if (v6) out += '[';
    out += endpoints[i].host;
    if (v6) out += ']';
    out += ':';
    out += std::to_string(endpoints[i].port);
  }
  if (mode == Mode::sentinel) {
    out += '/';
    out += master_name;
  }
  out += '/';
  out += std::to_string(db);
  if (!sentinel_password.empty()) out += "?sentinel_password=***";
  return out;
}

}  // namespace schedulo::redis
