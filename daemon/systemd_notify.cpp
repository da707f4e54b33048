#include "daemon/systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace schedulo::daemon {

SystemdNotifier::SystemdNotifier() {
  const char* socket_path = std::getenv("NOTIFY_SOCKET");
  if (!socket_path || !*socket_path || std::strlen(socket_path) >= sizeof(sockaddr_un::sun_path)) return;
  address_ = socket_path;
  if (address_[0] == '@') address_[0] = '\0';  // abstract namespace
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (const char* usec = std::getenv("WATCHDOG_USEC")) {
    const long long v = std::atoll(usec);
    const char* pid = std::getenv("WATCHDOG_PID");
    if (v > 0 && (!pid || std::atoll(pid) == static_cast<long long>(::getpid())))
      ping_every_ = std::chrono::microseconds(v / 2);
  }
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) ::close(fd_);
}

void SystemdNotifier::notify(std::string_view state) const {
  if (fd_ < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address_.data(), address_.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
  // Best effort, never blocking: a lost notification is not worth stalling the event loop.
  (void)::sendto(fd_, state.data(), state.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr),
                 len);
}

}  // namespace schedulo::daemon
