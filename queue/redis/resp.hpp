#pragma once
// RESP framing through hiredis: its command formatter for requests and its incremental reader for
// replies. hiredis owns the protocol details; we only move bytes.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "queue/redis/value.hpp"

struct redisReader;

namespace schedulo::redis {

// Appends one command in RESP form to `out`. Arguments are binary-safe.
void append_command(std::string& out, const std::vector<std::string_view>& args);

template <typename... Args>
std::string format_command(const Args&... args) {
  std::string out;
  append_command(out, {std::string_view(args)...});
  return out;
}

class ReplyReader {
 public:
  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  // Returns false when the bytes are not valid RESP (the connection must be dropped).
  bool feed(const char* data, std::size_t size);
  // Next complete reply, nullopt when more bytes are needed; sets `error` on a protocol error.
  std::optional<Value> next(bool& error);

 private:
  redisReader* reader_;
};

}  // namespace schedulo::redis
