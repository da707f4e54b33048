#pragma once
// How one attempt of a job ended, as a driver reports it. The dispatcher turns it into a queue
// settlement: succeeded and failed and needs_review are final; retry uses an attempt and backs off;
// defer (rate limit, open circuit) and wait (platform processing) use none.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace schedulo::jobs {

struct Outcome {
  enum class Kind { succeeded, retry, defer, wait, failed, needs_review };

  Kind kind = Kind::succeeded;
  std::string error;       // user-facing sentence
  std::string error_code;  // machine code (the platform's own where there is one)
  nlohmann::json result;   // succeeded: what Bubble and Airtable get (ids, urls)
  std::chrono::milliseconds after{0};  // retry: at least this long; defer and wait: this long
  nlohmann::json checkpoint;           // wait (and any kind): progress to keep; null = unchanged

  static Outcome success(nlohmann::json result) { return {Kind::succeeded, {}, {}, std::move(result), {}, {}}; }
  static Outcome retry(std::string error, std::string code, std::chrono::milliseconds at_least = {}) {
    return {Kind::retry, std::move(error), std::move(code), {}, at_least, {}};
  }
  static Outcome defer(std::string reason, std::string code, std::chrono::milliseconds for_how_long) {
    return {Kind::defer, std::move(reason), std::move(code), {}, for_how_long, {}};
  }
  static Outcome wait(std::chrono::milliseconds look_again_in, nlohmann::json checkpoint, std::string why = {}) {
    return {Kind::wait, std::move(why), "waiting", {}, look_again_in, std::move(checkpoint)};
  }
  static Outcome fail(std::string error, std::string code) {
    return {Kind::failed, std::move(error), std::move(code), {}, {}, {}};
  }
  static Outcome review(std::string error, std::string code) {
    return {Kind::needs_review, std::move(error), std::move(code), {}, {}, {}};
  }
};

}  // namespace schedulo::jobs
