// libFuzzer target: the OAuth token answers: the authorization-code exchange every connector reads
// (platforms/oauth token_exchange), the refresh answers of TikTok (2.1), X (3.1) and Instagram Login
// (ig_refresh_token), and Graph's debug_token as the Instagram token check reads it.
// Invariants: nothing throws or crashes; a status is one of the known ones; ok carries an access
// token and nothing else does; no token of the answer flows into a message or code (messages reach
// logs and Airtable: the text read from the same answer with other tokens must not quote it too); the refresh readers
// wipe the body they read; every lifetime is positive and at most platforms::kMaxTokenLifetimeS (callers turn it into
// epoch milliseconds), every expiry time fits in milliseconds.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "answer_input.hpp"
#include "platforms/instagram/token_calls.hpp"
#include "platforms/oauth/connectors.hpp"
#include "platforms/tiktok/tiktok.hpp"
#include "platforms/x/x.hpp"

using namespace schedulo;
using fuzz::check;
using platforms::TokenCallStatus;

namespace {

void strings_of(const nlohmann::json& j, std::string& out) {
  if (j.is_string()) out += j.get<std::string>() + '\n';
  if (j.is_structured())
    for (const auto& v : j) strings_of(v, out);
}

// The token texts an answer carries (long enough not to match by chance), except one the platform's
// own error text repeats: quoting the platform's error is allowed, adding a token to it is not.
std::vector<std::string> tokens_in(const nlohmann::json& doc) {
  std::vector<std::string> out;
  if (!doc.is_object()) return out;
  std::string platform_text;
  for (const char* k : {"error", "error_description", "message", "code"})
    if (const auto it = doc.find(k); it != doc.end()) strings_of(*it, platform_text);
  for (const char* k : {"access_token", "refresh_token"})
    if (const auto it = doc.find(k); it != doc.end() && it->is_string() && it->get<std::string>().size() >= 8) {
      const auto token = it->get<std::string>();
      if (platform_text.find(token) == std::string::npos) out.push_back(token);
    }
  return out;
}

// The answer with other tokens of the same length. A text that quotes a token of the answer leaks it
// only when the text read from this other answer does not quote it too: otherwise the "token" is a
// piece of our own wording (a fuzzed refresh_token "ram token refresh answered without a to" is in
// "the Instagram token refresh answered without a token").
nlohmann::json with_other_tokens(nlohmann::json doc) {
  if (!doc.is_object()) return doc;
  for (const char* k : {"access_token", "refresh_token"})
    if (const auto it = doc.find(k); it != doc.end() && it->is_string()) {
      auto other = it->get<std::string>();
      for (char& c : other) c = c == 'x' ? 'y' : 'x';
      *it = other;
    }
  return doc;
}

bool leaks(const std::string& text, const std::string& text_for_other_tokens, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets)
    if (text.find(s) != std::string::npos && text_for_other_tokens.find(s) == std::string::npos) return true;
  return false;
}

void check_lifetime(const std::optional<std::chrono::seconds>& s) {
  if (s) check(s->count() > 0 && s->count() <= platforms::kMaxTokenLifetimeS);
}

// `other`: the same reader's result for the answer with other tokens (with_other_tokens).
void check_refresh(const platforms::TokenCallResult& r, const platforms::TokenCallResult& other,
                   const std::vector<std::string>& secrets) {
  const auto status = static_cast<int>(r.status);
  check(status >= static_cast<int>(TokenCallStatus::ok) && status <= static_cast<int>(TokenCallStatus::unknown));
  if (r.status == TokenCallStatus::ok) check(!r.access_token.empty());
  check(!leaks(r.message, other.message, secrets) && !leaks(r.code, other.code, secrets));
  check_lifetime(r.expires_in);
  check_lifetime(r.refresh_expires_in);
  check(r.retry_after.count() >= 0);
}

bool wiped(const std::string& body) {
  for (const char c : body)
    if (c != '\0') return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto now = fuzz::fuzz_now();
  const http::Response answer = fuzz::answer_from(data, size);
  const auto doc = nlohmann::json::parse(answer.body, nullptr, false);
  const auto secrets = tokens_in(doc);
  const auto other_doc = with_other_tokens(doc);
  http::Response other_answer = answer;
  if (!secrets.empty()) other_answer.body = other_doc.dump();

  // The code exchange (X, TikTok; Meta's first step).
  platforms::oauth::CallAnswer call;
  call.reached = true;
  call.status = answer.status;
  call.body = doc;
  const auto exchange = platforms::oauth::token_exchange(call, "The platform");
  call.body = other_doc;
  const auto exchange_other = platforms::oauth::token_exchange(call, "The platform");
  const auto es = static_cast<int>(exchange.status);
  check(es >= static_cast<int>(platforms::oauth::ExchangeStatus::ok) &&
        es <= static_cast<int>(platforms::oauth::ExchangeStatus::transient));
  if (exchange.status == platforms::oauth::ExchangeStatus::ok) {
    check(!exchange.tokens.access_token.empty());
    check(answer.ok());
  } else {
    check(!exchange.code.empty());
  }
  check(!leaks(exchange.code, exchange_other.code, secrets));
  if (exchange.status == platforms::oauth::ExchangeStatus::ok)
    check(!leaks(exchange.message, exchange_other.message, secrets));
  for (const auto s : {exchange.expires_in_s, exchange.refresh_expires_in_s})
    check(s >= 0 && s <= platforms::kMaxTokenLifetimeS);

  // Refreshes: each reader wipes the body it was given.
  {
    http::Response r = answer;
    http::Response o = other_answer;
    const auto result = tiktok::read_refresh_answer(r);
    check_refresh(result, tiktok::read_refresh_answer(o), secrets);
    check(wiped(r.body));
  }
  {
    http::Response r = answer;
    http::Response o = other_answer;
    const auto result = x::read_refresh_answer(r, now);
    check_refresh(result, x::read_refresh_answer(o, now), secrets);
    check(wiped(r.body));
    if (result.status == TokenCallStatus::ok) check(answer.ok());
  }
  check_refresh(instagram::read_refresh_answer(doc), instagram::read_refresh_answer(other_doc), secrets);

  const auto debug = instagram::read_debug_token(doc);
  check(debug.status == TokenCallStatus::ok);
  check(debug.expires_at_ms >= 0 && debug.data_access_expires_at_ms >= 0);
  check(!leaks(debug.message, instagram::read_debug_token(other_doc).message, secrets));
  return 0;
}
