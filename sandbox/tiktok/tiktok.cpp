#include "sandbox/tiktok/tiktok.hpp"

#include "sandbox/tiktok/emulator.hpp"

namespace schedulo::sandbox::tiktok {

std::shared_ptr<void> install(Core& core, net::Executor executor, std::function<std::string()> self_url) {
  auto emulator = std::make_shared<Emulator>(core, std::move(executor), std::move(self_url));
  emulator->install();
  return emulator;
}

}  // namespace schedulo::sandbox::tiktok
