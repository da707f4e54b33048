#pragma once
// Configuration of the Instagram adapter (platforms.instagram.*, daemon/config_schema.cpp).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "platforms/graph/client.hpp"

namespace schedulo::instagram {

// When a video goes up by `video_url` (Meta fetches it) and when by resumable rupload.
enum class VideoUpload {
  automatic,  // video_url when the URL's host is public, else rupload (Facebook Login only)
  url,        // always video_url
  rupload,    // always rupload with Facebook Login (Instagram Login has no rupload: video_url)
};

struct InstagramOptions {
  graph::GraphOptions graph;   // Facebook Login: platforms.instagram.base_url (graph.facebook.com/vN.0)
  std::string login_base_url;  // Instagram Login: platforms.instagram.login_base_url (graph.instagram.com/vN.0)
  std::string upload_url;      // platforms.instagram.upload_url: rupload host (https://rupload.facebook.com)
  std::string app_id;          // platforms.instagram.client_id (debug_token's app token)
  VideoUpload video_upload = VideoUpload::automatic;
  std::chrono::milliseconds poll_interval{std::chrono::seconds(30)};        // between container polls
  std::chrono::milliseconds container_timeout{std::chrono::minutes(30)};    // never ready: fail
  std::chrono::milliseconds quota_recheck{std::chrono::minutes(15)};        // publishing cap: look again
  std::chrono::milliseconds refresh_margin{std::chrono::hours(24 * 7)};     // Instagram Login tokens
  std::chrono::milliseconds reconnect_warning{std::chrono::hours(24 * 7)};  // data access ending soon
  std::uint64_t rupload_chunk_bytes = 8u << 20;                             // one rupload request at most
  std::string stage_dir = "/tmp";
  // The clock can_refresh() judges a token's age on (ms since the epoch); empty: the wall clock.
  // Tests on the sandbox's clock inject it (issue 13's sweep tests).
  std::function<std::int64_t()> now_ms = {};
};

}  // namespace schedulo::instagram
