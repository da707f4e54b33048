// A 2 GiB file uploaded as 64 MB ranges over a real socket, every byte checked at the server: the
// server hashes each body as it streams in and the test compares with the hash of the same range
// read from the file (label `http`). The file is sparse, with an 8-byte stamp of its own offset every
// MiB, so a range sent from the wrong offset or out of order changes the hash. Cheap on disk.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <vector>

#include "platforms/http/client.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/run.hpp"

namespace schedulo::http {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kFileSize = std::uint64_t{2} << 30;
constexpr std::uint64_t kRange = 64'000'000;  // 64 MB, TikTok's largest chunk (platform-apis.md 2.5)
constexpr std::uint64_t kStampEvery = 1 << 20;

void make_stamped_sparse_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kFileSize)), 0);
  for (std::uint64_t at = 0; at < kFileSize; at += kStampEvery) {
    char stamp[8];
    std::memcpy(stamp, &at, sizeof stamp);
    ASSERT_EQ(::pwrite(fd, stamp, sizeof stamp, static_cast<off_t>(at + 12345)), 8);
  }
  ::close(fd);
}

TEST(HttpStreaming, TwoGibFileUploadedIn64MbRangesArrivesByteForByte) {
  test::TempDir dir;
  const std::string path = dir.file("sparse.bin");
  make_stamped_sparse_file(path);
  std::mutex mutex;
  std::vector<test::ServerRequest> seen;
  test::HttpTestServer server([&](const test::ServerRequest& r) {
    test::ServerRequest copy = r;
    copy.body.clear();
    const std::lock_guard lock(mutex);
    seen.push_back(std::move(copy));
    return test::ServerReply{};
  });
  boost::asio::io_context io;  // outlives the client: its pooled connection holds a socket of it
  ClientOptions options;
  options.policy = *AddressPolicy::from_entries({"127.0.0.1"}).policy;
  HttpClient client(options);

  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (std::uint64_t offset = 0; offset < kFileSize; offset += kRange)
    ranges.emplace_back(offset, std::min(kRange, kFileSize - offset));
  ASSERT_EQ(ranges.size(), 34u);  // 33 full ranges and the remainder
  for (const auto& [offset, length] : ranges) {
    Request request;
    request.method = "PUT";
    request.url = server.url("/upload");
    request.headers.set("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                             std::to_string(offset + length - 1) + "/" + std::to_string(kFileSize));
    request.body = FileRange{path, offset, length};
    auto result = test::run_for(io, client.request(request), 600s);
    ASSERT_TRUE(result) << result.error().message;
    ASSERT_EQ(result->status, 200);
  }
  const std::lock_guard lock(mutex);
  ASSERT_EQ(seen.size(), ranges.size());
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const auto& [offset, length] = ranges[i];
    EXPECT_EQ(seen[i].body_bytes, length) << "range " << i;
    EXPECT_EQ(seen[i].body_sha256, test::sha256_of_file_range(path, offset, length)) << "range " << i;
  }
  EXPECT_EQ(server.connections(), 1u);  // every range on the one kept-alive connection
}

}  // namespace
}  // namespace schedulo::http
