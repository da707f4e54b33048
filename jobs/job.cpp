#include "jobs/job.hpp"

#include "common/rfc3339.hpp"

#include <openssl/rand.h>

#include <array>
#include <random>

namespace schedulo::jobs {
namespace {

constexpr std::array<std::string_view, 4> kJobTypes = {"publish", "refresh_token", "fetch_analytics", "revoke_token"};
constexpr std::array<std::string_view, 4> kPlatforms = {"instagram", "facebook", "tiktok", "x"};
constexpr std::array<std::string_view, 2> kMediaKinds = {"image", "video"};

template <typename Enum, std::size_t N>
std::optional<Enum> from_table(const std::array<std::string_view, N>& names, std::string_view text) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == text) return static_cast<Enum>(i);
  return std::nullopt;
}

// Crockford's base32 alphabet, lower-case: ascending in ASCII, so fixed-width encodings sort like the
// numbers they encode.
constexpr std::string_view kBase32 = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr std::size_t kTimeChars = 11;  // 55 bits: ms timestamps for the next million years
constexpr std::size_t kRandomChars = 10;

}  // namespace

std::string_view to_string(JobType type) {
  return kJobTypes[static_cast<std::size_t>(type)];
}
std::string_view to_string(Platform platform) {
  return kPlatforms[static_cast<std::size_t>(platform)];
}
std::string_view to_string(MediaKind kind) {
  return kMediaKinds[static_cast<std::size_t>(kind)];
}

std::optional<JobType> job_type_from_string(std::string_view text) {
  return from_table<JobType>(kJobTypes, text);
}
std::optional<Platform> platform_from_string(std::string_view text) {
  return from_table<Platform>(kPlatforms, text);
}
std::optional<MediaKind> media_kind_from_string(std::string_view text) {
  return from_table<MediaKind>(kMediaKinds, text);
}

nlohmann::json Job::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  if (!id.empty()) out["id"] = id;
  out["type"] = to_string(type);
  out["platform"] = to_string(platform);
  out["account"] = account;
  if (run_at_ms) out["run_at"] = format_rfc3339_ms(*run_at_ms);
  if (post) {
    nlohmann::json p = nlohmann::json::object();
    if (!post->text.empty()) p["text"] = post->text;
    if (!post->media.empty()) {
      nlohmann::json media = nlohmann::json::array();
      for (const Media& m : post->media) {
        nlohmann::json item = {{"url", m.url}, {"kind", to_string(m.kind)}};
        if (!m.alt_text.empty()) item["alt_text"] = m.alt_text;
        media.push_back(std::move(item));
      }
      p["media"] = std::move(media);
    }
    if (!post->options.empty()) p["options"] = {{std::string(to_string(platform)), post->options}};
    out["post"] = std::move(p);
  }
  if (!target_post_ids.empty()) out["targets"] = {{"post_ids", target_post_ids}};
  if (!post_record.empty()) out["post_record"] = post_record;
  if (!callback_url.empty()) out["callback_url"] = callback_url;
  if (max_attempts) out["max_attempts"] = *max_attempts;
  return out;
}

std::string generate_job_id() {
  std::string id = "j";
  auto time = static_cast<std::uint64_t>(now_epoch_ms());
  std::array<char, kTimeChars> time_chars{};
  for (std::size_t i = kTimeChars; i-- > 0; time >>= 5) time_chars[i] = kBase32[time & 31];
  id.append(time_chars.data(), time_chars.size());

  std::array<unsigned char, kRandomChars> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    // The CSPRNG failing is near impossible; the kernel's generator is an acceptable stand-in.
    std::random_device device;
    for (auto& byte : random) byte = static_cast<unsigned char>(device());
  }
  for (const unsigned char byte : random) id += kBase32[byte & 31];
  return id;
}

}  // namespace schedulo::jobs
