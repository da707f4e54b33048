#pragma once
// Kept-alive connections per origin (scheme, host, port), with a cap on how many connections one
// origin may have open at once. A request beyond the cap waits in line (first come, first served)
// until a connection is released or its deadline passes. Idle connections that the server closed,
// or that sat idle too long, are dropped instead of handed out.
//
// Threading: one executor, like the rest of the client; the pool must outlive every lease.
#include <chrono>
#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/net.hpp"
#include "platforms/http/connection.hpp"

namespace schedulo::http {

class ConnectionPool;

// The right to one connection of an origin's cap. `connection` is null when the holder must open a
// new one. Destroying the lease returns the connection when it is reusable, else frees the slot.
class Lease {
 public:
  Lease() = default;
  Lease(ConnectionPool* pool, std::string origin, std::unique_ptr<Connection> leased);
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

 private:
  void release();
  ConnectionPool* pool_ = nullptr;
  std::weak_ptr<int> pool_alive_;  // a lease outliving its pool (a coroutine frame destroyed late) is dropped
  std::string origin_;

 public:
  std::unique_ptr<Connection> connection;
};

struct PoolStats {
  std::size_t opened = 0;   // slots handed out for a new connection
  std::size_t reused = 0;   // idle connections handed out again
  std::size_t waited = 0;   // acquisitions that had to wait for the cap
};

class ConnectionPool {
 public:
  ConnectionPool(std::size_t max_per_origin, std::chrono::milliseconds max_idle);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A lease on `origin`, waiting in line when its cap is reached; a timeout error by `deadline`.
  net::awaitable<Result<Lease>> acquire(const std::string& origin, Clock::time_point deadline);
  // Called by Lease: the connection back (kept when reusable) or, null, the slot freed.
  void release(const std::string& origin, std::unique_ptr<Connection> connection);

  std::size_t open_count(const std::string& origin) const;
  const PoolStats& stats() const { return stats_; }

 private:
  struct Waiter;
  struct Origin {
    std::list<std::unique_ptr<Connection>> idle;  // most recently used at the back
    std::size_t open = 0;                         // idle + leased
    std::list<Waiter*> waiters;
  };

  // An idle connection or a free slot, without waiting; nullopt at the cap.
  std::optional<Lease> try_acquire(const std::string& origin);

  std::size_t max_per_origin_;
  std::chrono::milliseconds max_idle_;
  std::map<std::string, Origin> origins_;
  PoolStats stats_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);

  friend class Lease;
};

}  // namespace schedulo::http
