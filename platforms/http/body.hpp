#pragma once
// Where request bodies come from and response bodies go, without Beast: the connection pulls a
// request body in chunks from a BodySource and pushes response chunks into a BodySink, so neither a
// file range being uploaded nor a download is ever held in memory whole.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "platforms/http/errors.hpp"

namespace schedulo::http {

// ---- request bodies ----------------------------------------------------------------------------

class BodySource {
 public:
  virtual ~BodySource() = default;
  // The exact number of bytes read() will give in all (sent as Content-Length).
  virtual std::uint64_t size() const = 0;
  // Up to `capacity` next bytes into `out`; 0 only at the end.
  virtual Result<std::size_t> read(char* out, std::size_t capacity) = 0;
  // Back to the first byte, so a request can be sent again on a fresh connection.
  virtual void rewind() = 0;
};

// A body held by the request (JSON, form data): read from the caller's string, not copied.
class BufferSource final : public BodySource {
 public:
  explicit BufferSource(const std::string& data) : data_(data) {}
  std::uint64_t size() const override { return data_.size(); }
  Result<std::size_t> read(char* out, std::size_t capacity) override;
  void rewind() override { offset_ = 0; }

 private:
  const std::string& data_;
  std::size_t offset_ = 0;
};

// `length` bytes of a file from `offset`, read with pread in chunks (the connection's buffer is the
// only memory used). The file is opened by the constructor and closed by the destructor.
class FileRangeSource final : public BodySource {
 public:
  FileRangeSource(const std::string& path, std::uint64_t offset, std::uint64_t length);
  ~FileRangeSource() override;
  FileRangeSource(const FileRangeSource&) = delete;
  FileRangeSource& operator=(const FileRangeSource&) = delete;

  // Empty when the file opened and holds the whole range; otherwise why not.
  const std::optional<Error>& open_error() const { return open_error_; }
  std::uint64_t size() const override { return length_; }
  Result<std::size_t> read(char* out, std::size_t capacity) override;
  void rewind() override { done_ = 0; }

 private:
  int fd_ = -1;
  std::uint64_t offset_;
  std::uint64_t length_;
  std::uint64_t done_ = 0;
  std::optional<Error> open_error_;
};

// ---- response bodies ---------------------------------------------------------------------------

// Called with the bytes received so far and the total when the server sent Content-Length.
using ProgressFn = std::function<void(std::uint64_t received, std::optional<std::uint64_t> total)>;

class BodySink {
 public:
  virtual ~BodySink() = default;
  // Before the first chunk; `content_length` when the server sent one. Too large a declared length
  // fails here, before any byte is read.
  virtual std::optional<Error> begin(std::optional<std::uint64_t> content_length) = 0;
  virtual std::optional<Error> write(const char* data, std::size_t size) = 0;
  virtual std::uint64_t received() const = 0;
};

// The body into a string, refused (too_large) past `max_bytes`.
class MemorySink final : public BodySink {
 public:
  explicit MemorySink(std::uint64_t max_bytes) : max_bytes_(max_bytes) {}
  std::optional<Error> begin(std::optional<std::uint64_t> content_length) override;
  std::optional<Error> write(const char* data, std::size_t size) override;
  std::uint64_t received() const override { return body_.size(); }
  std::string take() { return std::move(body_); }

 private:
  std::uint64_t max_bytes_;
  std::string body_;
};

// The body into an open file descriptor (not owned), from offset 0, refused past `max_bytes`;
// `progress` is called at most once per `progress_step` bytes, and once at the end.
class FileSink final : public BodySink {
 public:
  FileSink(int fd, std::uint64_t max_bytes, ProgressFn progress = {}, std::uint64_t progress_step = 1 << 20)
      : fd_(fd), max_bytes_(max_bytes), progress_(std::move(progress)), progress_step_(progress_step) {}
  std::optional<Error> begin(std::optional<std::uint64_t> content_length) override;
  std::optional<Error> write(const char* data, std::size_t size) override;
  std::uint64_t received() const override { return received_; }
  // Reports the final count (call once the body is complete).
  void finish();

 private:
  int fd_;
  std::uint64_t max_bytes_;
  ProgressFn progress_;
  std::uint64_t progress_step_;
  std::uint64_t received_ = 0;
  std::uint64_t reported_ = 0;
  std::optional<std::uint64_t> total_;
};

// Reads and drops up to `max_bytes` (the body of a redirect), so the connection can be reused.
class DiscardSink final : public BodySink {
 public:
  explicit DiscardSink(std::uint64_t max_bytes) : max_bytes_(max_bytes) {}
  std::optional<Error> begin(std::optional<std::uint64_t> content_length) override;
  std::optional<Error> write(const char* data, std::size_t size) override;
  std::uint64_t received() const override { return received_; }

 private:
  std::uint64_t max_bytes_;
  std::uint64_t received_ = 0;
};

}  // namespace schedulo::http
