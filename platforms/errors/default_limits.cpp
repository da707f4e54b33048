#include "platforms/errors/default_limits.hpp"

#include <stdexcept>
#include <string>

namespace schedulo::errors {

queue::LimitTable default_limits() {
  static constexpr const char* kRules[] = {
      // X API v2 (section 3.6): per user ("account") and per app, 15-minute windows unless noted. X
      // counts requests in fixed windows, not by spacing: a window's whole budget may go at once (a
      // thread, a media upload), so each rule's burst is its limit less one.
      "x:account:tweets_create=100/15m+99",
      "x:app:tweets_create=10000/24h+9999",
      "x:account:tweets_delete=50/15m+49",
      "x:account:tweets_lookup=5000/15m+4999",  // GET /2/tweets
      "x:app:tweets_lookup=3500/15m+3499",
      "x:account:tweet_lookup=900/15m+899",  // GET /2/tweets/:id
      "x:app:tweet_lookup=450/15m+449",
      "x:account:users_me=75/15m+74",
      "x:account:user_tweets=900/15m+899",
      "x:app:user_tweets=10000/15m+9999",
      "x:account:tweets_analytics=300/15m+299",
      "x:app:tweets_analytics=300/15m+299",
      "x:account:media_upload=500/15m+499",  // one-shot POST /2/media/upload
      "x:app:media_upload=50000/24h+49999",
      "x:account:media_status=1000/15m+999",
      "x:app:media_status=100000/24h+99999",
      "x:account:media_chunked=1875/15m+1874",  // initialize, append, finalize
      "x:app:media_chunked=180000/24h+179999",
      "x:account:media_metadata=500/15m+499",
      "x:app:media_metadata=50000/24h+49999",
      "x:app:usage=50/15m+49",
      // TikTok (sections 2.2-2.8): posting endpoints per user token, Display API per app, 1-minute windows.
      "tiktok:account:creator_info=20/1m",
      "tiktok:account:video_init=6/1m",
      "tiktok:account:inbox_init=6/1m",
      "tiktok:account:content_init=6/1m",
      "tiktok:account:status_fetch=30/1m",
      "tiktok:app:user_info=600/1m",
      "tiktok:app:video_list=600/1m",
      "tiktok:app:video_query=600/1m",
      // Instagram (section 1.1): containers per account per rolling 24 h; publishing quota (50 per
      // content_publishing_limit, 100 per the guide: read at runtime, 50 until then). Bursts as for
      // reels below: the rolling counts allow them all at once, not one every 29 minutes.
      "instagram:account:containers=400/24h+399",
      "instagram:account:media_publish=50/24h+49",
      // Facebook Pages (section 4.2): API-published reels per Page per rolling 24 h. The burst lets 30
      // go at once, as the platform's rolling count does; past that Facebook's own refusal (code 4)
      // defers the job until a slot frees.
      "facebook:account:video_reels=30/24h+29",
      // Airtable (section 5.2): 5/s per base of which the fleet takes airtable.requests_per_second
      // (set from config), 50/s per token owner.
      "airtable:app:base=3/1s",
      "airtable:app:token=50/1s",
  };
  queue::LimitTable table;
  for (const char* rule : kRules) {
    std::string error;
    if (!table.add_rule(rule, error))
      throw std::logic_error(std::string("bad default rate limit ") + rule + ": " + error);
  }
  return table;
}

}  // namespace schedulo::errors
