// The progress reporter of long commands (label `ops`), on an injected clock: a redrawn line on a
// terminal, periodic plain lines otherwise, and one summary line at the end.
#include "daemon/progress.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace schedulo::daemon {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  Progress::Clock::time_point t{};
  void advance(std::chrono::milliseconds d) { t += d; }
};

Progress::Options options(std::ostringstream& out, FakeClock& clock, bool terminal) {
  Progress::Options o;
  o.out = &out;
  o.terminal = terminal;
  o.now = [&clock] { return clock.t; };
  return o;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(ProgressTest, NotATerminalGetsALineAtMostEveryIntervalThenASummary) {
  std::ostringstream out;
  FakeClock clock;
  {
    Progress p("dead retry", 100, options(out, clock, false));
    for (int i = 0; i < 10; ++i) {
      clock.advance(100ms);
      p.advance();
    }
    EXPECT_EQ(out.str(), "") << "nothing before the first interval";
    clock.advance(4000ms);  // 5 s in, 11 done
    p.advance();
    EXPECT_EQ(out.str(), "dead retry: 11/100 (11%), 2/s, about 40 s left\n");
    clock.advance(1000ms);
    p.advance();
    EXPECT_EQ(count(out.str(), "\n"), 1U) << "the next line waits for the next interval";
    clock.advance(4000ms);
    p.fail(3);
    p.advance(85);
    p.finish("; 3 not retryable");
  }
  EXPECT_EQ(count(out.str(), "\n"), 3U) << out.str();
  EXPECT_NE(out.str().find("dead retry: 15/100 (15%), 2/s, about 57 s left, 3 failed\n"), std::string::npos)
      << out.str();
  EXPECT_TRUE(out.str().ends_with("dead retry: 100/100 done in 10 s (3 failed); 3 not retryable\n")) << out.str();
  EXPECT_EQ(out.str().find('\r'), std::string::npos) << "no control characters in a log";
}

TEST(ProgressTest, ATerminalLineIsRedrawnInPlaceAndEndsWithOneNewline) {
  std::ostringstream out;
  FakeClock clock;
  Progress p("vault rotate", 4, options(out, clock, true));
  for (int i = 0; i < 4; ++i) {
    clock.advance(500ms);
    p.note("table Accounts");
    p.advance();
  }
  p.finish();
  const auto text = out.str();
  EXPECT_EQ(count(text, "\n"), 1U) << "one line, redrawn";
  EXPECT_TRUE(text.ends_with("\rvault rotate: 4/4 done in 2.0 s\033[K\n")) << text;
  EXPECT_NE(text.find("\rvault rotate: 3/4 (75%), 2/s, about 0.7 s left, table Accounts\033[K"), std::string::npos)
      << text;
}

TEST(ProgressTest, RedrawsAreThrottledOnATerminal) {
  std::ostringstream out;
  FakeClock clock;
  Progress p("resync", 0, options(out, clock, true));
  for (int i = 0; i < 1000; ++i) {
    clock.advance(1ms);
    p.advance();
  }
  EXPECT_EQ(count(out.str(), "\r"), 10U) << "one redraw per 100 ms, not one per item";
  p.finish();
}

TEST(ProgressTest, AnUnknownTotalShowsCountAndRate) {
  std::ostringstream out;
  FakeClock clock;
  Progress p("airtable init", 0, options(out, clock, false));
  clock.advance(6s);
  p.advance(12);
  EXPECT_EQ(out.str(), "airtable init: 12 done, 2/s\n");
  p.set_total(24);
  EXPECT_EQ(p.line(), "airtable init: 12/24 (50%), 2/s, about 6.0 s left");
}

TEST(ProgressTest, TheDestructorFinishesAnOpenLine) {
  std::ostringstream out;
  FakeClock clock;
  {
    Progress p("dead purge", 2, options(out, clock, true));
    clock.advance(200ms);
    p.advance();
  }
  EXPECT_TRUE(out.str().ends_with("\rdead purge: 1/2 done in 0.2 s\033[K\n")) << out.str();
}

}  // namespace
}  // namespace schedulo::daemon
