#include "platforms/http/pool.hpp"

namespace schedulo::http {

struct ConnectionPool::Waiter {
  explicit Waiter(const net::Executor& executor) : wake(executor) {}
  net::Timer wake;
  bool granted = false;
  std::unique_ptr<Connection> handed;  // null with granted: open a new connection in the slot
};

Lease::Lease(ConnectionPool* pool, std::string origin, std::unique_ptr<Connection> leased)
    : pool_(pool), pool_alive_(pool->alive_), origin_(std::move(origin)), connection(std::move(leased)) {}

Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), pool_alive_(std::move(other.pool_alive_)),
      origin_(std::move(other.origin_)), connection(std::move(other.connection)) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::exchange(other.pool_, nullptr);
    pool_alive_ = std::move(other.pool_alive_);
    origin_ = std::move(other.origin_);
    connection = std::move(other.connection);
  }
  return *this;
}

Lease::~Lease() { release(); }

void Lease::release() {
  if (!pool_ || pool_alive_.expired()) {
    pool_ = nullptr;
    return;
  }
  std::unique_ptr<Connection> back;
  if (connection && connection->reusable()) back = std::move(connection);
  connection.reset();
  std::exchange(pool_, nullptr)->release(origin_, std::move(back));
}

ConnectionPool::ConnectionPool(std::size_t max_per_origin, std::chrono::milliseconds max_idle)
    : max_per_origin_(max_per_origin == 0 ? 1 : max_per_origin), max_idle_(max_idle) {}

ConnectionPool::~ConnectionPool() = default;

net::awaitable<Result<Lease>> ConnectionPool::acquire(const std::string& origin, Clock::time_point deadline) {
  if (auto lease = try_acquire(origin)) co_return std::move(*lease);
  Origin& o = origins_[origin];
  ++stats_.waited;
  Waiter waiter(co_await net::asio::this_coro::executor);
  waiter.wake.expires_at(deadline);
  o.waiters.push_back(&waiter);
  const auto position = std::prev(o.waiters.end());
  const std::weak_ptr<int> alive = alive_;
  co_await waiter.wake.async_wait();  // cancelled by release() when our turn comes
  if (alive.expired()) co_return Error{ErrorKind::cancelled, "the connection pool was destroyed"};
  if (!waiter.granted) {
    origins_[origin].waiters.erase(position);
    co_return Error{ErrorKind::timeout, "timed out waiting for a free connection to " + origin + " (" +
                                            std::to_string(max_per_origin_) + " in use)"};
  }
  if (waiter.handed) {
    ++stats_.reused;
  } else {
    ++stats_.opened;
  }
  co_return Lease(this, origin, std::move(waiter.handed));
}

std::optional<Lease> ConnectionPool::try_acquire(const std::string& origin) {
  Origin& o = origins_[origin];
  const auto now = Clock::now();
  while (!o.idle.empty()) {
    std::unique_ptr<Connection> candidate = std::move(o.idle.back());
    o.idle.pop_back();
    if (candidate->looks_alive() && now - candidate->idle_since() < max_idle_) {
      ++stats_.reused;
      return Lease(this, origin, std::move(candidate));
    }
    --o.open;  // closed by the server or idle too long: its slot is free again
  }
  if (o.open < max_per_origin_) {
    ++o.open;
    ++stats_.opened;
    return Lease(this, origin, nullptr);
  }
  return std::nullopt;
}

void ConnectionPool::release(const std::string& origin, std::unique_ptr<Connection> connection) {
  Origin& o = origins_[origin];
  if (!o.waiters.empty()) {
    // The slot passes straight to the first in line, with the connection when it can be reused.
    Waiter* next = o.waiters.front();
    o.waiters.pop_front();
    next->granted = true;
    next->handed = std::move(connection);
    next->wake.cancel();
    return;
  }
  if (connection) {
    o.idle.push_back(std::move(connection));
  } else {
    --o.open;
  }
}

std::size_t ConnectionPool::open_count(const std::string& origin) const {
  const auto it = origins_.find(origin);
  return it == origins_.end() ? 0 : it->second.open;
}

}  // namespace schedulo::http
