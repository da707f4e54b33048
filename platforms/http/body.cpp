#include "platforms/http/body.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace schedulo::http {
namespace {

Error io_error(std::string what) {
  return {ErrorKind::io, std::move(what) + ": " + std::strerror(errno)};
}

Error too_large(std::uint64_t limit, std::string_view found) {
  return {ErrorKind::too_large,
          "response body " + std::string(found) + " is larger than the limit of " + std::to_string(limit) + " bytes"};
}

// The declared length already breaks the cap: fail before reading a byte.
std::optional<Error> check_declared(std::optional<std::uint64_t> content_length, std::uint64_t max_bytes) {
  if (content_length && *content_length > max_bytes)
    return too_large(max_bytes, "(Content-Length " + std::to_string(*content_length) + ")");
  return std::nullopt;
}

}  // namespace

Result<std::size_t> BufferSource::read(char* out, std::size_t capacity) {
  const std::size_t n = std::min(capacity, data_.size() - offset_);
  std::memcpy(out, data_.data() + offset_, n);
  offset_ += n;
  return n;
}

FileRangeSource::FileRangeSource(const std::string& path, std::uint64_t offset, std::uint64_t length)
    : offset_(offset), length_(length) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    open_error_ = io_error("cannot open " + path);
    return;
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    open_error_ = io_error("cannot stat " + path);
  } else if (offset > static_cast<std::uint64_t>(st.st_size) ||
             length > static_cast<std::uint64_t>(st.st_size) - offset) {
    open_error_ = Error{ErrorKind::io, "range " + std::to_string(offset) + "+" + std::to_string(length) +
                                           " lies beyond the end of " + path + " (" + std::to_string(st.st_size) +
                                           " bytes)"};
  }
}

FileRangeSource::~FileRangeSource() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::size_t> FileRangeSource::read(char* out, std::size_t capacity) {
  if (open_error_) return *open_error_;
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(capacity, length_ - done_));
  std::size_t got = 0;
  while (got < want) {
    const ssize_t n = ::pread(fd_, out + got, want - got, static_cast<off_t>(offset_ + done_ + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot read the request body file");
    if (n == 0) return Error{ErrorKind::io, "the request body file became shorter while it was sent"};
    got += static_cast<std::size_t>(n);
  }
  done_ += got;
  return got;
}

std::optional<Error> MemorySink::begin(std::optional<std::uint64_t> content_length) {
  if (auto e = check_declared(content_length, max_bytes_)) return e;
  if (content_length) body_.reserve(static_cast<std::size_t>(*content_length));
  return std::nullopt;
}

std::optional<Error> MemorySink::write(const char* data, std::size_t size) {
  if (body_.size() + size > max_bytes_) return too_large(max_bytes_, "(more than the limit arrived)");
  body_.append(data, size);
  return std::nullopt;
}

std::optional<Error> FileSink::begin(std::optional<std::uint64_t> content_length) {
  total_ = content_length;
  return check_declared(content_length, max_bytes_);
}

std::optional<Error> FileSink::write(const char* data, std::size_t size) {
  if (received_ + size > max_bytes_) return too_large(max_bytes_, "(more than the limit arrived)");
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(received_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot write the downloaded file");
    done += static_cast<std::size_t>(n);
  }
  received_ += size;
  if (progress_ && received_ - reported_ >= progress_step_) {
    reported_ = received_;
    progress_(received_, total_);
  }
  return std::nullopt;
}

void FileSink::finish() {
  if (progress_) progress_(received_, total_);
  reported_ = received_;
}

std::optional<Error> DiscardSink::begin(std::optional<std::uint64_t> content_length) {
  return check_declared(content_length, max_bytes_);
}

std::optional<Error> DiscardSink::write(const char* /*data*/, std::size_t size) {
  received_ += size;
  if (received_ > max_bytes_) return too_large(max_bytes_, "(more than the limit arrived)");
  return std::nullopt;
}

}  // namespace schedulo::http
