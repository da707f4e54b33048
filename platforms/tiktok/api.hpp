#pragma once
// What the TikTok files share (internal to platforms/tiktok): the chunk arithmetic of section 2.5,
// the v2 envelope and its error codes as the one error taxonomy, and guarded JSON calls with the
// per-token and per-app buckets.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "jobs/job_context.hpp"
#include "jobs/token_use.hpp"
#include "platforms/errors/call_guard.hpp"
#include "platforms/tiktok/tiktok.hpp"

namespace schedulo::tiktok {

using json = nlohmann::json;

inline constexpr std::uint64_t kMiB = 1ULL << 20;
inline constexpr std::uint64_t kMinChunk = 5 * kMiB;
inline constexpr std::uint64_t kMaxChunk = 64 * kMiB;

// Section 2.5: total_chunk_count = floor(video_size / chunk_size), every chunk chunk_size bytes but the
// last, which absorbs the remainder; a file under 5 MiB is one chunk of its own size, and so is a
// file smaller than the preferred chunk size.
struct ChunkPlan {
  std::uint64_t size = 0;
  std::uint64_t chunk = 0;
  std::uint64_t count = 0;
  std::uint64_t offset(std::uint64_t index) const { return index * chunk; }
  std::uint64_t length(std::uint64_t index) const { return index + 1 == count ? size - index * chunk : chunk; }
  // The chunk starting at `offset`, nullopt when no chunk starts there.
  std::optional<std::uint64_t> index_at(std::uint64_t offset) const;
};
// `preferred` is clamped to 5-64 MiB.
ChunkPlan plan_chunks(std::uint64_t size, std::uint64_t preferred);

// Bytes the server holds, from its "Content-Range: bytes 0-LAST/TOTAL" (LAST + 1) or "bytes */TOTAL"
// (0); nullopt when absent or unreadable.
std::optional<std::uint64_t> received_from_range(std::string_view header);

// The v2 envelope and the OAuth answers by their body first (TikTok answers some refusals with HTTP
// 200), then the HTTP fallback.
errors::Classified classify(const http::Result<http::Response>& answer, errors::Safety safety,
                            errors::SystemClock::time_point now);

// The envelope's `data` object of a successful answer (an empty object when absent).
json data_of(const http::Response& response);

// The data of the answers a post needs, read leniently: a member of another type than documented
// counts as absent (nlohmann's value() threw type_error on one, found by
// tests/fuzz/tiktok_answers_fuzz.cpp). Pure.
struct CreatorInfo {                           // creator_info/query (2.2)
  json privacy_level_options = json::array();  // its strings only
  std::string username;
  std::int64_t max_video_post_duration_sec = 0;
  bool comment_disabled = false;
  bool duet_disabled = false;
  bool stitch_disabled = false;
};
CreatorInfo read_creator_info(const json& data);
struct InitAnswer {  // video/init, inbox/video/init, content/init (2.3-2.5)
  std::string publish_id;
  std::string upload_url;
};
InitAnswer read_init(const json& data);
struct PublishStatus {  // status/fetch (2.6)
  std::string status;
  std::uint64_t uploaded_bytes = 0;
  std::string fail_reason = "internal";  // FAILED without a reason
  std::string post_id;                   // the first public post id, as exact decimal text
};
PublishStatus read_status(const json& data);

bool under_prefix(const std::string& url, const std::vector<std::string>& prefixes);

// Section 2.7: fail_reasons worth another attempt (the platform's own trouble, a pull that may work
// again); the others are final.
bool retryable_fail_reason(std::string_view reason);

std::string form_encode(std::string_view text);

// A job's calls to the v2 API through the CallGuard, each on its buckets.
class Api {
 public:
  Api(const Settings& settings, const queue::LimitTable& limits, errors::CallGuard& guard)
      : settings_(settings), limits_(limits), guard_(guard) {}

  // POST {base}{path} with a JSON body. `rule`: the bucket's rule name ("video_init"), its scope
  // "account" (per user token) or "app".
  net::awaitable<errors::GuardedCall> post(const std::string& path, const json& body, const tokens::AccessToken& token,
                                           const jobs::Job& job, std::string_view rule, std::string_view scope,
                                           errors::Safety safety);
  net::awaitable<errors::GuardedCall> get(const std::string& path_and_query, const tokens::AccessToken& token,
                                          const jobs::Job& job, std::string_view rule, std::string_view scope);
  // PUT one chunk of the file to the upload URL (no bucket: uploads have no documented limit; a
  // failing upload host does not trip the API's circuit).
  net::awaitable<errors::GuardedCall> put_chunk(const std::string& upload_url, const http::FileRange& range,
                                                std::uint64_t total, const std::string& content_type,
                                                const jobs::Job& job);

  const Settings& settings() const { return settings_; }
  errors::CallGuard& guard() { return guard_; }

 private:
  errors::CallSpec spec(const jobs::Job& job, std::string endpoint, std::string_view rule, std::string_view scope,
                        errors::Safety safety, const tokens::AccessToken* token) const;

  const Settings& settings_;
  const queue::LimitTable& limits_;
  errors::CallGuard& guard_;
};

// What a guarded call says about the token, for jobs::with_token: expired or revoked, else done with
// `failure` (nullopt when the call succeeded).
jobs::TokenUse token_use(const errors::GuardedCall& call, jobs::StepResult failure);
// The call's outcome (it must not be ok): jobs::outcome_of with the platform's name.
jobs::Outcome failure_of(const errors::GuardedCall& call, bool can_reconcile = true);

}  // namespace schedulo::tiktok
