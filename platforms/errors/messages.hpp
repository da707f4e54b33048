#pragma once
// The friendly-message catalogue (messages.json, embedded at build time): from a platform's code to a
// plain sentence and a suggested action, stored on the job as `error` (with the raw code in
// `error_code`). Data, not code: a new code needs a line of JSON, not a build of logic.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "platforms/errors/classification.hpp"

namespace schedulo::errors {

struct FriendlyMessage {
  std::string message;                                         // what happened, in plain words
  std::string action;                                          // what the user can do (or that nothing is needed)
  std::string text() const { return message + " " + action; }  // the job's `error`
};

// The entry for <platform>.<code>/<subcode>, <platform>.<code>, <platform>.<subcode> (Instagram's
// subcodes are unique on their own), the same in each section the platform's "also" list names
// (instagram and facebook -> graph), then generic.<code> ("timeout", "circuit_open"), then
// generic.<class>. Never empty.
FriendlyMessage friendly_message(std::string_view platform, std::string_view code, std::string_view subcode,
                                 ErrorClass kind);
inline FriendlyMessage friendly_message(std::string_view platform, const Classified& c) {
  return friendly_message(platform, c.code, c.subcode, c.kind);
}

// The catalogue as parsed at first use (throws at start-up if the embedded JSON were broken; a test
// checks it is not).
const nlohmann::json& message_catalogue();
std::string_view message_catalogue_text();  // generated from messages.json

}  // namespace schedulo::errors
