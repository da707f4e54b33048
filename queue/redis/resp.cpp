#include "queue/redis/resp.hpp"

#include <hiredis/hiredis.h>

#include <cstdio>
#include <stdexcept>

namespace schedulo::redis {
namespace {

Value convert(const redisReply* r) {
  Value v;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      v.type = Value::Type::string;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = Value::Type::status;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      v.type = Value::Type::error;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      v.type = Value::Type::integer;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      v.type = Value::Type::array;
      v.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) v.elements.push_back(convert(r->element[i]));
      break;
    default:
      v.type = Value::Type::nil;
  }
  return v;
}

}  // namespace

std::optional<long long> Value::as_integer() const {
  if (type == Type::integer) return integer;
  if (!is_string() || str.empty()) return std::nullopt;
  long long n = 0;
  std::size_t i = 0;
  const bool negative = str[0] == '-';
  if (negative) i = 1;
  if (i == str.size()) return std::nullopt;
  for (; i < str.size(); ++i) {
    if (str[i] < '0' || str[i] > '9') return std::nullopt;
    n = n * 10 + (str[i] - '0');
  }
  return negative ? -n : n;
}

std::string describe(const Value& v) {
  constexpr std::size_t kMax = 120;
  auto cut = [](const std::string& s) { return s.size() > kMax ? s.substr(0, kMax) + "..." : s; };
  switch (v.type) {
    case Value::Type::nil: return "nil";
    case Value::Type::string: return "string:" + cut(v.str);
    case Value::Type::status: return "status:" + cut(v.str);
    case Value::Type::error: return "error:" + cut(v.str);
    case Value::Type::integer: return "integer:" + std::to_string(v.integer);
    case Value::Type::array: return "array[" + std::to_string(v.elements.size()) + "]";
  }
  return "?";
}

void append_command(std::string& out, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  const int n = redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), argv.data(), lens.data());
  if (n < 0) throw std::bad_alloc();
  out.append(cmd, static_cast<std::size_t>(n));
  redisFreeCommand(cmd);
}

ReplyReader::ReplyReader() : reader_(redisReaderCreate()) {
  if (!reader_) throw std::bad_alloc();
}

ReplyReader::~ReplyReader() { redisReaderFree(reader_); }

bool ReplyReader::feed(const char* data, std::size_t size) {
  return redisReaderFeed(reader_, data, size) == REDIS_OK;
}

std::optional<Value> ReplyReader::next(bool& error) {
  void* reply = nullptr;
  if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
    error = true;
    return std::nullopt;
  }
  if (!reply) return std::nullopt;
  Value v = convert(static_cast<redisReply*>(reply));
  freeReplyObject(reply);
  return v;
}

}  // namespace schedulo::redis
