#pragma once
// The job model: what a validated job JSON (shared/design/interface.md, "Job JSON") means, in one
// normalised form. Only jobs/job_validation.hpp builds a Job from untrusted input; to_json() writes the
// canonical JSON stored in Redis, which validates again to the same Job.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schedulo::jobs {

enum class JobType { publish, refresh_token, fetch_analytics, revoke_token };
enum class Platform { instagram, facebook, tiktok, x };
enum class MediaKind { image, video };

std::string_view to_string(JobType type);
std::string_view to_string(Platform platform);
std::string_view to_string(MediaKind kind);

std::optional<JobType> job_type_from_string(std::string_view text);
std::optional<Platform> platform_from_string(std::string_view text);
std::optional<MediaKind> media_kind_from_string(std::string_view text);

struct Media {
  std::string url;  // normalised by http::parse_url (Bubble's "//host/path" is https)
  MediaKind kind = MediaKind::image;
  std::string alt_text;  // empty = none

  bool operator==(const Media&) const = default;
};

struct Post {
  std::string text;  // empty = none
  std::vector<Media> media;
  // The job's own platform's block of post.options only (e.g. {"as":"reel"} for instagram), validated;
  // an empty object when absent. URLs inside it (facebook.link) are normalised.
  nlohmann::json options = nlohmann::json::object();

  bool operator==(const Post&) const = default;
};

struct Job {
  std::string id;  // empty until intake assigns generate_job_id()
  JobType type = JobType::publish;
  Platform platform = Platform::instagram;
  std::string account;
  std::optional<std::int64_t> run_at_ms;     // ms since the Unix epoch; nullopt = now
  std::optional<Post> post;                  // publish jobs only
  std::vector<std::string> target_post_ids;  // fetch_analytics; empty = recent posts
  std::string post_record;                   // Airtable Posts record id; empty = none
  std::string callback_url;                  // normalised; empty = none
  std::optional<int> max_attempts;

  bool operator==(const Job&) const = default;

  // The canonical job JSON: interface.md's field names, absent values omitted, run_at as
  // "YYYY-MM-DDTHH:MM:SS.mmmZ", post.options holding only the job's platform's block.
  nlohmann::json to_json() const;
};

// A fresh job id: "j", 11 base32 characters of the current time in ms (so ids sort by creation time),
// and 10 base32 characters (50 bits) from OpenSSL's CSPRNG. Within the id charset [A-Za-z0-9_.:-].
std::string generate_job_id();

}  // namespace schedulo::jobs
