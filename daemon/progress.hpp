#pragma once
// Progress of a long command-line operation (dead retry of many jobs, dead purge, vault rotate,
// airtable init, resync), written to stderr so stdout stays the command's result:
//   - to a terminal: one line redrawn in place, at most every `redraw` (default 100 ms):
//       dead retry: 1234/5000 (24%), 410/s, about 9 s left
//   - otherwise (a log, a pipe, CI): the same text as a plain line at most every `interval`
//     (default 5 s), so a journal is not flooded but a stalled run is still visible;
//   - finish() always ends with one summary line:
//       dead retry: 5000/5000 done in 12.3 s (3 failed)
// Counting is the caller's: advance() for each item done, fail() for each item that could not be
// done (it counts as done too). Not thread-safe: call it from the command's one thread (or
// io_context). Output happens only inside these calls; there is no timer.
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace schedulo::daemon {

class Progress {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::ostream* out = nullptr;               // nullptr = std::cerr
    std::optional<bool> terminal;              // nullopt = isatty(stderr) when out is std::cerr
    std::chrono::milliseconds redraw{100};     // terminal: the longest a redraw is put off
    std::chrono::milliseconds interval{5000};  // not a terminal: a line at most this often
    std::function<Clock::time_point()> now;    // tests inject a clock; default Clock::now
  };

  // total: the number of items when known (0 = not known: counts and rate only).
  Progress(std::string label, std::uint64_t total);
  Progress(std::string label, std::uint64_t total, Options options);
  ~Progress();  // finishes, if finish() was not called, so a terminal line is never left open
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void set_total(std::uint64_t total);
  void advance(std::uint64_t n = 1);
  void fail(std::uint64_t n = 1);
  // Short context shown after the figures ("table Posts"); replaced by the next call.
  void note(std::string_view text);
  // The summary line; `extra` is appended to it ("; 10 not retryable"). Later calls do nothing.
  void finish(std::string_view extra = {});

  std::uint64_t done() const { return done_; }
  std::uint64_t failed() const { return failed_; }
  std::uint64_t total() const { return total_; }
  // The status text as it would be printed now (without the redraw control characters).
  std::string line() const;

 private:
  void maybe_print(bool force);
  Clock::time_point now() const;

  std::string label_;
  std::uint64_t total_ = 0;
  std::uint64_t done_ = 0;
  std::uint64_t failed_ = 0;
  std::string note_;
  Options options_;
  std::ostream* out_ = nullptr;
  bool terminal_ = false;
  bool finished_ = false;
  bool line_open_ = false;  // terminal: a redrawn line without its newline yet
  Clock::time_point started_;
  Clock::time_point last_print_;
};

}  // namespace schedulo::daemon
