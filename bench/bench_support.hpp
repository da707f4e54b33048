#pragma once
// What the benchmarks that drive the release daemon and the sandbox share (bench/tiktok_bench.cpp,
// bench/e2e_bench.cpp): child processes, plain HTTP/1.1 to the sandbox's loopback port, the CLI.
// Blocking calls only: these are programs that measure, not part of the daemon.
#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace schedulo::bench {

using json = nlohmann::json;

[[noreturn]] void die(const std::string& program, const std::string& why);

// Where a benchmark that drives the daemon and the sandbox finds Redis and the two binaries, and the
// directory of its own for logs and files: the options every such program takes.
struct RunPaths {
  std::string url = "redis://127.0.0.1:6379/0";
  std::string daemon = "build/bin/schedulo";
  std::string sandbox = "build/bin/schedulo-sandbox";
  std::string dir = "/tmp";
};
// The program's own options: true when it knows `name` and took `value` (a bad value may throw).
using OptionReader = std::function<bool(const std::string& name, const std::string& value)>;
// Reads the `--name value` pairs of the command line: --url, --daemon, --sandbox and --dir into
// `paths`, the rest through `own`; dies naming an option neither knows.
void parse_options(const std::string& program, int argc, char** argv, RunPaths& paths, const OptionReader& own);

// Starts `args` with stdout and stderr appended to `log` (stdin /dev/null), the environment without
// SCHEDULO_* overrides plus `extra_env` ("NAME=value").
pid_t spawn(const std::vector<std::string>& args, const std::string& log,
            const std::vector<std::string>& extra_env = {});
void stop(pid_t pid);    // SIGTERM, then waits
bool exited(pid_t pid);  // true once the child has ended (reaped)

// A sandbox on a port it picks (--log-level warn), its log in `log`.
struct Sandbox {
  pid_t pid = -1;
  std::uint16_t port = 0;
  std::string base;  // http://127.0.0.1:PORT
};
Sandbox start_sandbox(const std::string& binary, const std::string& log);

// One request to 127.0.0.1:port (Connection: close); the answer's body (de-chunked). Dies when the
// server cannot be reached.
std::string http(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::string& body = {});
json http_json(std::uint16_t port, const std::string& method, const std::string& target, const json& body = nullptr);

// Runs a shell command; its stdout. `status` gets the exit status.
std::string run(const std::string& command, int* status = nullptr);

// A vault key file (mode 0600) made by `schedulo vault keygen`.
void write_vault_key(const std::string& schedulo, const std::string& path);
// `schedulo account add PLATFORM:ACCOUNT` with the tokens of a token answer (access_token,
// refresh_token, expires_in, refresh_expires_in, scope).
void add_account(const std::string& schedulo, const std::string& config, const std::string& target, const json& tokens);

// VmRSS / VmHWM of a process in KiB (0 when it is gone).
long status_kib(pid_t pid, const char* field);

// The machine's context for a figure: "cpus=N load1=L" (the 1-minute load average now).
std::string machine_load();

// Waits until `log` contains `needle` `count` times, within `seconds`; false when it did not.
bool wait_for_log(const std::string& log, const std::string& needle, int count, double seconds);

}  // namespace schedulo::bench
