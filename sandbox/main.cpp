// schedulo-sandbox: every external API the daemon talks to, emulated on one loopback port.
#include <CLI/CLI.hpp>

#include <boost/asio/signal_set.hpp>

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "common/http_server.hpp"
#include "common/log.hpp"
#include "sandbox/airtable/airtable.hpp"
#include "sandbox/bubble/bubble.hpp"
#include "sandbox/cdn/cdn.hpp"
#include "sandbox/core/core.hpp"
#include "sandbox/core/tls.hpp"
#include "sandbox/daemon_config.hpp"
#include "sandbox/x/x.hpp"
#include "sandbox/tiktok/tiktok.hpp"
#include "sandbox/graph/graph.hpp"

namespace {

bool split_listen(const std::string& listen, std::string& host, std::uint16_t& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const auto digits = listen.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  const auto n = std::stoul(digits);
  if (n > 65535) return false;
  port = static_cast<std::uint16_t>(n);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace schedulo;
  CLI::App app{"schedulo-sandbox: Airtable, Bubble, a media CDN (and the platforms) emulated on one port"};
  std::string listen = "127.0.0.1:8700";
  bool tls = false;
  std::string tls_dir = "/tmp/schedulo-sandbox-tls";
  bool print_config = false;
  std::string state_file;
  bool frozen = false;
  std::string level = "info";
  app.add_option("--listen", listen, "host:port to serve on (port 0 picks a free one)");
  app.add_flag("--tls", tls, "serve HTTPS with a certificate from a CA kept in --tls-dir");
  app.add_option("--tls-dir", tls_dir, "where the CA (ca.pem, ca-key.pem) is kept and reused");
  app.add_flag("--print-config", print_config, "print a daemon config pointing at this sandbox and exit");
  app.add_option("--state", state_file, "persist the emulated state to this file and restore it at start");
  app.add_flag("--frozen-clock", frozen, "start with the sandbox clock frozen (tests advance it)");
  app.add_option("--log-level", level, "trace, debug, info, warn, error or off");
  bool exit_with_parent = false;
  app.add_flag("--exit-with-parent", exit_with_parent, "end when the process that started us ends (tests)");
  CLI11_PARSE(app, argc, argv);
  if (exit_with_parent) {
    // A test that crashes must not leave its sandbox behind (holding the test runner's pipes).
    const pid_t parent = ::getppid();
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) return 0;
  }

  std::string host;
  std::uint16_t port = 0;
  if (!split_listen(listen, host, port)) {
    std::cerr << "schedulo-sandbox: --listen must be host:port, got " << listen << "\n";
    return 2;
  }
  const std::string scheme = tls ? "https" : "http";
  const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;

  std::optional<sandbox::TlsMaterial> material;
  if (tls) {
    std::string error;
    material = sandbox::prepare_tls(tls_dir, error);
    if (!material) {
      std::cerr << "schedulo-sandbox: --tls: " << error << "\n";
      return 1;
    }
  }
  if (print_config) {
    if (port == 0) {
      std::cerr << "schedulo-sandbox: --print-config needs the port the sandbox will listen on\n";
      return 2;
    }
    const auto base = scheme + "://" + shown_host + ":" + std::to_string(port);
    std::cout << sandbox::daemon_config(base, material ? material->ca_file : "").dump(2) << "\n";
    return 0;
  }

  spdlog::level::level_enum log_level = spdlog::level::info;
  log::parse_level(level, log_level);
  log::init(log::Format::text, log_level);

  boost::asio::io_context io;
  sandbox::Core core(io.get_executor(), {state_file, frozen, 10000, scheme, material ? material->ca_file : ""});
  const auto airtable = sandbox::airtable::install(core);
  const auto bubble = sandbox::bubble::install(core);
  const auto cdn = sandbox::cdn::install(core);
  const auto x = sandbox::x::install(core);
  std::string self_url;  // scheme://host:port, known once listening
  const auto tiktok = sandbox::tiktok::install(core, io.get_executor(), [&self_url] { return self_url; });
  const auto graph = sandbox::graph::install(core);
  std::string error;
  if (!core.load_state(error)) {
    std::cerr << "schedulo-sandbox: --state: " << error << "\n";
    return 1;
  }
  core.save_state();

  server::ServerOptions options;
  options.server_name = "schedulo-sandbox";
  if (material) {
    options.tls_certificate_pem = material->certificate_pem;
    options.tls_private_key_pem = material->private_key_pem;
  }
  options.body_limit = 130 * 1024 * 1024;  // TikTok's last upload chunk may reach 128 MB
  server::Server http(io.get_executor(), core.build_router(), options);
  if (auto ec = http.listen(host, port)) {
    std::cerr << "schedulo-sandbox: cannot listen on " << listen << ": " << ec.message() << "\n";
    return 1;
  }
  http.start();
  self_url = scheme + "://" + shown_host + ":" + std::to_string(http.port());
  // The first line of stdout says where we are (tests and scripts read it for the port).
  std::cout << "schedulo-sandbox listening on " << scheme << "://" << shown_host << ":" << http.port() << std::endl;

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    http.stop();
    core.save_state();
    io.stop();
  });
  io.run();
  return 0;
}
