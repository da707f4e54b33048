#pragma once
// redis.url: where the daemon finds Redis.
//   redis://[[user]:password@]host[:port][/db]
//   rediss://...                                   (TLS; verified against the system store + tls.ca_file)
//   redis-sentinel://[[user]:password@]host:port[,host:port...]/master[/db][?sentinel_password=...]
// The password is a secret: it is registered for log scrubbing and redacted() never shows it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schedulo::redis {

struct Endpoint {
  std::string host;
  std::uint16_t port = 6379;
};

struct RedisUrl {
  enum class Mode { direct, tls, sentinel };
  Mode mode = Mode::direct;
  std::vector<Endpoint> endpoints;  // one server, or the sentinels
  std::string master_name;          // sentinel mode
  std::string username;
  std::string password;
  std::string sentinel_password;
  int db = 0;

  // The URL with every password replaced by "***".
  std::string redacted() const;
};

// nullopt with `error` set (naming what is wrong, never echoing a password) on a bad URL.
std::optional<RedisUrl> parse_redis_url(std::string_view text, std::string& error);

}  // namespace schedulo::redis
