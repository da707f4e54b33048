#include "daemon/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include <fmt/format.h>

namespace schedulo::daemon {
namespace {

std::string seconds_text(double s) {
  if (s < 10) return fmt::format("{:.1f} s", s);
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7200) return fmt::format("{:.0f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
}

}  // namespace

Progress::Progress(std::string label, std::uint64_t total) : Progress(std::move(label), total, Options{}) {}

Progress::Progress(std::string label, std::uint64_t total, Options options)
    : label_(std::move(label)), total_(total), options_(std::move(options)) {
  out_ = options_.out != nullptr ? options_.out : &std::cerr;
  if (options_.terminal) {
    terminal_ = *options_.terminal;
  } else {
    // Only std::cerr has a known descriptor; any other stream is treated as a file.
    terminal_ = out_ == &std::cerr && ::isatty(STDERR_FILENO) == 1;
  }
  started_ = now();
  last_print_ = started_;
}

Progress::~Progress() {
  finish();
}

Progress::Clock::time_point Progress::now() const {
  return options_.now ? options_.now() : Clock::now();
}

void Progress::set_total(std::uint64_t total) {
  total_ = total;
  maybe_print(false);
}

void Progress::advance(std::uint64_t n) {
  done_ += n;
  maybe_print(false);
}

void Progress::fail(std::uint64_t n) {
  failed_ += n;
  done_ += n;
  maybe_print(false);
}

void Progress::note(std::string_view text) {
  note_ = std::string(text);
  maybe_print(false);
}

std::string Progress::line() const {
  const double elapsed = std::chrono::duration<double>(now() - started_).count();
  std::string out = label_ + ": " + std::to_string(done_);
  if (total_ > 0) {
    const auto percent =
        static_cast<unsigned>(std::floor(100.0 * static_cast<double>(done_) / static_cast<double>(total_)));
    out += fmt::format("/{} ({}%)", total_, std::min(percent, 100U));
  } else {
    out += " done";
  }
  if (elapsed >= 0.5 && done_ > 0) {
    const double rate = static_cast<double>(done_) / elapsed;
    out += fmt::format(", {:.0f}/s", rate);
    if (total_ > done_) out += ", about " + seconds_text(static_cast<double>(total_ - done_) / rate) + " left";
  }
  if (failed_ > 0) out += fmt::format(", {} failed", failed_);
  if (!note_.empty()) out += ", " + note_;
  return out;
}

void Progress::maybe_print(bool force) {
  if (finished_) return;
  const auto t = now();
  const auto every = terminal_ ? options_.redraw : options_.interval;
  if (!force && t - last_print_ < every) return;
  last_print_ = t;
  if (terminal_) {
    // Carriage return, the text, then "erase to the end of the line" for a shorter text.
    *out_ << '\r' << line() << "\033[K" << std::flush;
    line_open_ = true;
  } else {
    *out_ << line() << '\n' << std::flush;
  }
}

void Progress::finish(std::string_view extra) {
  if (finished_) return;
  finished_ = true;
  const double elapsed = std::chrono::duration<double>(now() - started_).count();
  std::string summary = label_ + ": ";
  summary += total_ > 0 ? fmt::format("{}/{} done", done_, total_) : fmt::format("{} done", done_);
  summary += " in " + seconds_text(elapsed);
  if (failed_ > 0) summary += fmt::format(" ({} failed)", failed_);
  if (!extra.empty()) summary += std::string(extra);
  if (terminal_ && line_open_) *out_ << '\r';
  *out_ << summary << (terminal_ ? "\033[K\n" : "\n") << std::flush;
}

}  // namespace schedulo::daemon
