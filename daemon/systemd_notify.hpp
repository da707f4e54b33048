#pragma once
// sd_notify without libsystemd: datagrams to $NOTIFY_SOCKET (READY, STATUS, WATCHDOG, STOPPING).
// The watchdog interval comes from $WATCHDOG_USEC; architecture rule 16: a ping means only "the
// event loop turns", never "Redis is fine" (that is health, reported apart).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace schedulo::daemon {

class SystemdNotifier {
 public:
  SystemdNotifier();  // reads the environment; does nothing when not run by systemd
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  void notify(std::string_view state) const;
  // Half the interval systemd expects pings at; nullopt when no watchdog is configured.
  std::optional<std::chrono::microseconds> ping_every() const { return ping_every_; }

 private:
  int fd_ = -1;
  std::string address_;
  std::optional<std::chrono::microseconds> ping_every_;
};

}  // namespace schedulo::daemon
