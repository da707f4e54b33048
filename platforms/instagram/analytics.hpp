#pragma once
// Media insights (platform-apis.md 1.1, "Media insights"): the current metrics per kind of media,
// never the deprecated ones (impressions, plays, clips_replays_count, ig_reels_aggregated_all_plays_count,
// video_views). Values come as `values[0].value` or `total_value.value`; an empty `data` means "not
// yet" (insights arrive up to 48 h late), not zero.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/net.hpp"
#include "jobs/outcome.hpp"
#include "platforms/instagram/instagram.hpp"

namespace schedulo::instagram {

// The metrics asked for a media's product type (FEED, REELS, STORY) and media type.
std::string metrics_for(std::string_view product_type, std::string_view media_type);

// {"name": value} from an insights answer, reading both shapes; numbers only (object-valued metrics
// such as navigation are kept as they are). An empty object when `data` is empty.
nlohmann::json read_insights(const nlohmann::json& body);

// The fetch_analytics job: the job's post ids, or the account's 10 most recent media.
net::awaitable<jobs::Outcome> fetch_analytics(Instagram& instagram, jobs::JobContext& job);

}  // namespace schedulo::instagram
