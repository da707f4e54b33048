// The TikTok memory benchmark (issue 11), run by `scripts/bench tiktok`: the release daemon
// (`schedulo run`, workers.mode live) publishes ONE video of --bytes (2 GiB) through FILE_UPLOAD to the
// sandbox's TikTok emulator, and the daemon's memory is watched while it does.
//
//   tiktok_bench --url REDIS_URL --daemon BIN --sandbox BIN --dir D [--bytes 2147483648] [--chunk-mib 10]
//
// The video comes from the sandbox's CDN (an MP4 made on the fly, 1080x1920, 5 s at 30 fps, padded
// to the size: it passes the daemon's media inspection and TikTok's rules). The daemon stages it into
// a private file under D/staging (TMPDIR), then PUTs it in chunks; the emulator checks each chunk's
// range and size and keeps counts only, never the bytes. The staged file is the only large file:
// the daemon deletes it when the job ends, and this program checks that it did.
//
// Memory: VmRSS at idle (after start-up settles), then /proc/PID/clear_refs = 5 resets VmHWM to it;
// VmHWM after the job is the peak, cross-checked by VmRSS sampled every 5 ms. Prints:
//   BENCH tiktok memory bytes=.. idle_rss_mib=.. peak_rss_mib=.. peak_above_idle_mib=.. target_mib=16 ..
//   BENCH tiktok publish bytes=.. chunk_bytes=.. chunks=.. upload_mb_s=.. stage_mb_s=.. state=.. posts=..
// upload_mb_s is the emulator's view: the bytes of chunks 2..N over the time between the first and
// the last chunk's arrival; stage_mb_s the download from the CDN (request to init call, inspection
// included). Exit status 1 when the job did not end published with exactly one post.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "bench/bench_support.hpp"

namespace {

using schedulo::bench::json;
namespace b = schedulo::bench;
using Clock = std::chrono::steady_clock;

constexpr const char* kProgram = "tiktok_bench";
constexpr const char* kOpenId = "tt-bench-user";
constexpr const char* kAccount = "bench-tiktok";
constexpr std::int64_t kMiB = 1 << 20;

struct Options : b::RunPaths {
  std::int64_t bytes = 2 * 1024 * kMiB;
  std::int64_t chunk_mib = 10;
};

[[noreturn]] void die(const std::string& why) {
  b::die(kProgram, why);
}

double mib(long kib) {
  return static_cast<double>(kib) / 1024.0;
}

std::uintmax_t dir_bytes(const std::string& dir) {
  std::uintmax_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  b::parse_options(kProgram, argc, argv, o, [&](const std::string& k, const std::string& v) {
    if (k == "--bytes")
      o.bytes = std::stoll(v);
    else if (k == "--chunk-mib")
      o.chunk_mib = std::stoll(v);
    else
      return false;
    return true;
  });
  const std::string prefix = "ttbench" + std::to_string(::getpid());
  const std::string staging = o.dir + "/staging";
  std::filesystem::create_directories(staging);

  const auto sandbox = b::start_sandbox(o.sandbox, o.dir + "/sandbox.log");
  const auto port = sandbox.port;
  // One creator whose publishes finish after one status poll and are public at once.
  b::http_json(port, "PUT", std::string("/_sandbox/tiktok/users/") + kOpenId,
               {{"processing_polls", 1}, {"public_polls", 0}});
  const json tokens = b::http_json(port, "POST", "/_sandbox/tiktok/tokens", {{"open_id", kOpenId}});
  if (!tokens.contains("access_token")) die("no TikTok tokens from the sandbox: " + tokens.dump());

  const std::string key_file = o.dir + "/vault.keys";
  b::write_vault_key(o.daemon, key_file);
  const json config = {{"redis", {{"url", o.url}, {"prefix", prefix}}},
                       {"workers", {{"id", prefix}, {"mode", "live"}, {"concurrency", 4}}},
                       {"vault", {{"key_file", key_file}}},
                       {"security", {{"allow_private_hosts", {"127.0.0.0/8", "localhost"}}}},
                       {"platforms",
                        {{"tiktok",
                          {{"base_url", sandbox.base + "/tiktok"},
                           {"auth_url", sandbox.base + "/tiktok/v2/auth/authorize/"},
                           {"upload_url", sandbox.base + "/tiktok-upload"},
                           {"client_id", "sbx-tiktok-client-id"},
                           {"client_secret", "sbx-tiktok-client-secret"},
                           {"chunk_bytes", o.chunk_mib * kMiB},
                           {"status_poll_ms", 200},
                           {"public_id_wait_ms", 5000}}}}},
                       {"log", {{"level", "info"}}}};
  const std::string config_file = o.dir + "/config.json";
  std::ofstream(config_file) << config.dump(2);
  b::add_account(o.daemon, config_file, std::string("tiktok:") + kAccount, tokens);

  const std::string daemon_log = o.dir + "/daemon.log";
  const pid_t daemon = b::spawn({o.daemon, "run", "--config", config_file}, daemon_log, {"TMPDIR=" + staging});
  if (!b::wait_for_log(daemon_log, "ready: consuming jobs", 1, 60)) {
    b::stop(daemon);
    b::stop(sandbox.pid);
    die("the daemon did not start; see " + daemon_log);
  }
  // Idle: start-up settled (its first sweeps and connections made), nothing to do.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  long idle_kib = 0;
  for (int i = 0; i < 10; ++i) {
    idle_kib = std::max(idle_kib, b::status_kib(daemon, "VmRSS"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const bool hwm_reset = static_cast<bool>(std::ofstream("/proc/" + std::to_string(daemon) + "/clear_refs") << "5");

  std::atomic<bool> sampling{true};
  std::atomic<long> sampled_peak_kib{0};
  std::atomic<std::uintmax_t> staged_peak{0};
  std::thread sampler([&] {
    int tick = 0;
    while (sampling) {
      const long rss = b::status_kib(daemon, "VmRSS");
      if (rss > sampled_peak_kib) sampled_peak_kib = rss;
      if (++tick % 20 == 0) staged_peak = std::max<std::uintmax_t>(staged_peak, dir_bytes(staging));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });

  const std::string media_url = sandbox.base + "/cdn/mp4/bench.mp4?bytes=" + std::to_string(o.bytes);
  const json job = {{"id", "tiktok-bench-1"},
                    {"type", "publish"},
                    {"platform", "tiktok"},
                    {"account", kAccount},
                    {"post",
                     {{"text", "a 2 GiB benchmark video"},
                      {"media", json::array({{{"url", media_url}, {"kind", "video"}}})},
                      {"options", {{"tiktok", {{"source", "upload"}, {"privacy_level", "SELF_ONLY"}}}}}}}};
  const std::string job_file = o.dir + "/job.json";
  std::ofstream(job_file) << job.dump() << "\n";
  const auto start = Clock::now();
  int rc = 0;
  b::run("'" + o.daemon + "' enqueue --config '" + config_file + "' - < '" + job_file + "' > /dev/null", &rc);
  if (rc != 0) die("enqueue failed");

  json record;
  std::string state;
  const auto limit = std::chrono::seconds(900);
  while (Clock::now() - start < limit) {
    if (b::exited(daemon)) {
      sampling = false;
      sampler.join();
      b::stop(sandbox.pid);
      die("the daemon ended during the publish; see " + daemon_log);
    }
    auto text = b::run("'" + o.daemon + "' status --config '" + config_file + "' tiktok-bench-1 2>/dev/null");
    record = json::parse(text, nullptr, false);
    state = record.is_object() ? record.value("state", "") : "";
    if (state == "succeeded" || state == "failed" || state == "dead" || state == "needs_review") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  sampling = false;
  sampler.join();
  const std::string load = b::machine_load();
  const long hwm_kib = b::status_kib(daemon, "VmHWM");
  const long after_kib = b::status_kib(daemon, "VmRSS");
  const auto staged_left = dir_bytes(staging);
  b::stop(daemon);

  // What the emulator saw.
  const json result = record.is_object() && record.contains("result") ? record["result"] : json::object();
  const std::string publish_id = result.is_object() ? result.value("publish_id", "") : "";
  json publish = json::object();
  if (!publish_id.empty()) publish = b::http_json(port, "GET", "/_sandbox/tiktok/publishes/" + publish_id);
  const auto posts = b::http_json(port, "GET", "/_sandbox/tiktok/posts")["posts"];
  const auto log = b::http_json(port, "GET", "/_sandbox/log?limit=100000")["entries"];
  std::int64_t cdn_at = 0;
  std::int64_t init_at = 0;
  std::int64_t first_at = 0;
  std::int64_t last_at = 0;
  std::int64_t later_bytes = 0;
  long chunk_requests = 0;
  for (const auto& e : log) {
    const auto route = e.value("route", "");
    const auto at = e.value("at_ms", std::int64_t{0});
    if (route == "cdn.media" && cdn_at == 0) cdn_at = at;
    if (route == "tiktok.video_init" && init_at == 0) init_at = at;
    if (route != "tiktok.upload") continue;
    ++chunk_requests;
    // "bytes FIRST-LAST/TOTAL" as the daemon sent it
    const json headers = e.value("headers", json::object());
    const std::string range = headers.is_object() ? headers.value("content-range", "") : "";
    long long range_first = 0;
    long long range_last = -1;
    long long range_total = 0;
    std::sscanf(range.c_str(), "bytes %lld-%lld/%lld", &range_first, &range_last, &range_total);
    const std::int64_t bytes = range_last - range_first + 1;
    if (first_at == 0) {
      first_at = at;
    } else {
      later_bytes += bytes;
    }
    last_at = at;
  }
  b::stop(sandbox.pid);

  const std::int64_t size = publish.value("video_size", std::int64_t{0});
  const double upload_s = static_cast<double>(last_at - first_at) / 1000.0;
  const double stage_s = static_cast<double>(init_at - cdn_at) / 1000.0;
  const double upload_mb_s = upload_s > 0 ? static_cast<double>(later_bytes) / 1e6 / upload_s : 0;
  const double stage_mb_s = stage_s > 0 ? static_cast<double>(size) / 1e6 / stage_s : 0;
  const long peak_kib = std::max(hwm_reset ? hwm_kib : 0L, sampled_peak_kib.load());
  const bool published = state == "succeeded" && publish.value("status", "") == "PUBLISH_COMPLETE" &&
                         publish.value("uploaded_bytes", std::int64_t{-1}) == size && posts.size() == 1;

  char line[768];
  std::snprintf(line, sizeof line,
                "BENCH tiktok memory bytes=%lld idle_rss_mib=%.1f peak_rss_mib=%.1f peak_above_idle_mib=%.1f "
                "target_mib=16 vmhwm_mib=%.1f sampled_peak_mib=%.1f after_mib=%.1f hwm_reset=%d",
                static_cast<long long>(o.bytes), mib(idle_kib), mib(peak_kib), mib(peak_kib - idle_kib), mib(hwm_kib),
                mib(sampled_peak_kib), mib(after_kib), hwm_reset ? 1 : 0);
  std::cout << line << std::endl;
  std::snprintf(line, sizeof line,
                "BENCH tiktok publish bytes=%lld video_size=%lld source=%s chunk_bytes=%lld chunks=%lld "
                "chunk_requests=%ld chunks_received=%lld upload_mb_s=%.0f stage_mb_s=%.0f wall_s=%.1f state=%s "
                "status=%s posts=%zu staged_peak_mib=%.0f staged_left_bytes=%ju published=%d %s",
                static_cast<long long>(o.bytes), static_cast<long long>(size), publish.value("source", "na").c_str(),
                static_cast<long long>(publish.value("chunk_size", std::int64_t{0})),
                static_cast<long long>(publish.value("total_chunk_count", std::int64_t{0})), chunk_requests,
                static_cast<long long>(publish.value("chunks_received", std::int64_t{0})), upload_mb_s, stage_mb_s,
                wall_s, state.empty() ? "na" : state.c_str(), publish.value("status", "na").c_str(), posts.size(),
                static_cast<double>(staged_peak.load()) / static_cast<double>(kMiB), staged_left, published ? 1 : 0,
                load.c_str());
  std::cout << line << std::endl;
  if (!published) {
    std::cerr << kProgram << ": the job did not end published with one post: " << record.dump().substr(0, 2000) << "\n";
    return 1;
  }
  return staged_left == 0 ? 0 : 1;
}
