#include "platforms/http/staging.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace schedulo::http {

constexpr std::uint64_t kDefaultMaxBytes = std::uint64_t{1} << 30;

StagedMedia::~StagedMedia() { remove(); }

StagedMedia::StagedMedia(StagedMedia&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), info_(std::move(other.info_)) {
  other.path_.clear();
}

StagedMedia& StagedMedia::operator=(StagedMedia&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::move(other.path_);
    other.path_.clear();
    fd_ = std::exchange(other.fd_, -1);
    info_ = std::move(other.info_);
  }
  return *this;
}

void StagedMedia::remove() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
}

std::uint64_t staging_cap(std::uint64_t requested, std::uint64_t target_limit) {
  if (requested == 0) return target_limit ? target_limit : kDefaultMaxBytes;
  return target_limit ? std::min(requested, target_limit) : requested;
}

net::awaitable<Result<StagedMedia>> stage_media(HttpClient& client, const std::string& url, MediaTarget target,
                                                const StageOptions& options) {
  const MediaLimits& limits = limits_for(target);
  const std::uint64_t cap = staging_cap(options.max_bytes, limits.max_bytes);

  std::string name = options.dir + "/schedulo-media-XXXXXX";
  std::vector<char> path(name.begin(), name.end());
  path.push_back('\0');
  const int fd = ::mkostemp(path.data(), O_CLOEXEC);  // mode 0600: readable by the daemon's user only
  if (fd < 0)
    co_return Error{ErrorKind::io, "cannot create a staging file in " + options.dir + ": " + std::strerror(errno)};
  StagedMedia staged(path.data(), fd);  // from here on the file goes away with `staged`
  ::fchmod(fd, S_IRUSR | S_IWUSR);

  DownloadOptions download;
  download.max_bytes = cap;
  download.timeouts = options.timeouts;
  download.max_redirects = options.max_redirects;
  download.progress = options.progress;
  download.progress_step = options.progress_step;
  auto response = co_await client.download(url, fd, download);
  if (!response) {
    Error error = response.error();
    // Over the platform's own size limit: the rule, not the transport, is what the user must hear.
    if (error.kind == ErrorKind::too_large && limits.max_bytes && cap == limits.max_bytes)
      co_return Error{ErrorKind::media_rejected, "the file is larger than " + std::string(limits.name) + "' limit of " +
                                                     std::to_string(limits.max_bytes) + " bytes (platform-apis.md " +
                                                     std::string(limits.section) + ")"};
    co_return error;
  }
  auto info = inspect_media(FileReader(fd));
  if (!info) co_return info.error();
  if (auto broken = check_media(target, *info)) co_return *broken;
  staged.set_info(std::move(*info));
  co_return staged;
}

}  // namespace schedulo::http
