#pragma once
// Instagram's half of the publish state machine (jobs/drivers.cpp), platform-apis.md 1.1:
//
//   validate  the post's kind (feed image, carousel of 2-10, reel, story) and the caption rules
//   stage     every media item downloaded and checked against Instagram's limits (http/staging.hpp);
//             videos that go up by rupload are kept for the upload
//   create    the containers (carousel: its children)
//   upload    rupload of resumable videos, resumed from the offset the host acknowledged; then polls:
//             videos (and a carousel's parent, created once its children are ready) until FINISHED,
//             the job `waiting` between polls (no worker held); EXPIRED or ERROR: recreated once
//   publish   (before it: the token, and the content_publishing_limit: an exhausted quota defers)
//             media_publish; 9007 "not ready": poll, then publish the same container again
//   confirm   the media's permalink
//
// find_existing (after a publish call without an answer): the container's status, then the account's
// recent media; unknown otherwise (the driver sets needs_review).
#include <memory>

#include "jobs/platform.hpp"
#include "platforms/instagram/instagram.hpp"

namespace schedulo::instagram {

std::unique_ptr<jobs::PublishSteps> make_publish_steps(Instagram& instagram);

// The kind of Instagram post a job makes: "image", "carousel", "reel" or "story".
std::string post_kind(const jobs::Post& post);

// content_publishing_limit's answer (quota_usage and config.quota_total, 0 when absent or not a
// number). Pure: fuzzed (tests/fuzz/graph_answers_fuzz.cpp).
struct PublishingQuota {
  long long used = 0;
  long long total = 0;
  bool used_up() const { return total > 0 && used >= total; }
};
PublishingQuota read_publishing_limit(const nlohmann::json& body);

}  // namespace schedulo::instagram
