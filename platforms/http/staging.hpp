#pragma once
// Media staging: a job's media URL downloaded to a private temporary file (mode 0600, size cap,
// deadline, progress reported to the caller), inspected from its bytes (media_info.hpp) and checked
// against the target platform's limits (media_limits.hpp). The file lives exactly as long as the
// StagedMedia object: the job keeps it while it uploads and drops it when it ends.
#include <cstdint>
#include <string>

#include "common/net.hpp"
#include "platforms/http/client.hpp"
#include "platforms/http/media_info.hpp"
#include "platforms/http/media_limits.hpp"

namespace schedulo::http {

class StagedMedia {
 public:
  StagedMedia() = default;  // empty: no file
  StagedMedia(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~StagedMedia();
  StagedMedia(StagedMedia&& other) noexcept;
  StagedMedia& operator=(StagedMedia&& other) noexcept;
  StagedMedia(const StagedMedia&) = delete;
  StagedMedia& operator=(const StagedMedia&) = delete;

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  const MediaInfo& info() const { return info_; }
  void set_info(MediaInfo info) { info_ = std::move(info); }
  // The whole file as a request body range (for uploads and chunked uploads).
  FileRange range(std::uint64_t offset, std::uint64_t length) const { return {path_, offset, length}; }

 private:
  void remove();
  std::string path_;
  int fd_ = -1;
  MediaInfo info_;
};

struct StageOptions {
  std::string dir = "/tmp";              // where the private temporary file is made
  std::uint64_t max_bytes = 0;           // 0: the target's limit (or 1 GiB when it has none)
  Timeouts timeouts;                     // the download's deadlines; `total` bounds the whole staging
  ProgressFn progress;                   // bytes so far (and the total when known), for the job record
  std::uint64_t progress_step = 1 << 20;
  int max_redirects = 5;
};

// The most bytes stage_media accepts: `requested` (StageOptions::max_bytes) when set, else the target's
// limit, else 1 GiB; never more than the target's limit.
std::uint64_t staging_cap(std::uint64_t requested, std::uint64_t target_limit);

// Downloads, inspects and checks. Errors: the download's (network, timeout, refused_address,
// http_status, ...; permanent() tells whether a retry can help), bad_media for a file that is not
// what it claims or is cut off, media_rejected naming the broken rule.
net::awaitable<Result<StagedMedia>> stage_media(HttpClient& client, const std::string& url, MediaTarget target,
                                                const StageOptions& options);

}  // namespace schedulo::http
