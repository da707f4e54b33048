#include "platforms/facebook/answers.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace schedulo::facebook {
namespace {

using json = nlohmann::json;

std::string text_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  return "";
}

std::optional<std::uint64_t> offset_of(const json& doc, const char* key) {
  if (!doc.is_object() || !doc.contains(key)) return std::nullopt;
  const auto& v = doc[key];
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<long long>() >= 0) return static_cast<std::uint64_t>(v.get<long long>());
  if (!v.is_string()) return std::nullopt;
  const auto s = v.get<std::string>();
  std::uint64_t out = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return out;
}

// A member that is text, else "" (nlohmann's value() throws when the member has another type: found
// by tests/fuzz/graph_answers_fuzz.cpp, as were the two helpers below).
std::string string_of(const json& o, const char* key) {
  if (!o.is_object()) return {};
  const auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}
// A member of any type, or `fallback` (also when `o` is not an object).
json member(const json& o, const char* key, json fallback) {
  return o.is_object() ? o.value(key, std::move(fallback)) : fallback;
}

std::int64_t integer_of(const json& v) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    return d > -9.2e18 && d < 9.2e18 ? static_cast<std::int64_t>(d) : 0;  // the cast is undefined beyond
  }
  if (v.is_string()) {
    std::int64_t out = 0;
    const auto s = v.get<std::string>();
    std::from_chars(s.data(), s.data() + s.size(), out);
    return out;
  }
  return 0;
}

// A metric count: 0 to 2^53, so sums of counts cannot overflow.
constexpr std::int64_t kMaxCount = std::int64_t{1} << 53;
std::int64_t count_of(const json& v) {
  return std::clamp<std::int64_t>(integer_of(v), 0, kMaxCount);
}
std::int64_t add_counts(std::int64_t a, std::int64_t b) {
  return std::min(kMaxCount, a + b);  // both within 0..2^53
}

// Graph's "2026-09-11T10:00:00+0000" (also with "+00:00" or "Z"); 0 when unreadable.
std::int64_t graph_time_ms(const std::string& text) {
  std::tm tm{};
  int offset_min = 0;
  if (text.size() < 19) return 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::string zone = text.substr(19);
  if (zone.size() >= 5 && (zone[0] == '+' || zone[0] == '-')) {
    const int hh = std::atoi(zone.substr(1, 2).c_str());
    const int mm = std::atoi(zone.substr(zone[3] == ':' ? 4 : 3, 2).c_str());
    offset_min = (zone[0] == '-' ? -1 : 1) * (hh * 60 + mm);
  }
  return (static_cast<std::int64_t>(timegm(&tm)) - static_cast<std::int64_t>(offset_min) * 60) * 1000;
}

constexpr std::array kKindNames{"text", "link", "photo", "album", "video", "reel"};

}  // namespace

std::string_view to_string(PostKind kind) {
  return kKindNames.at(static_cast<std::size_t>(kind));
}

std::optional<PostKind> post_kind_from_string(std::string_view text) {
  for (std::size_t i = 0; i < kKindNames.size(); ++i)
    if (text == kKindNames[i]) return static_cast<PostKind>(i);
  return std::nullopt;
}

PostPlan plan_post(const std::string& text, const std::vector<MediaItem>& media, std::string_view as,
                   const std::string& link) {
  PostPlan plan;
  plan.message = text;
  plan.link = link;
  for (const auto& m : media) plan.urls.push_back(m.url);
  const bool video = std::any_of(media.begin(), media.end(), [](const MediaItem& m) { return m.video; });
  if (video)
    plan.kind = as == "reel" ? PostKind::reel : PostKind::video;
  else if (media.size() > 1)
    plan.kind = PostKind::album;
  else if (media.size() == 1)
    plan.kind = PostKind::photo;
  else
    plan.kind = link.empty() ? PostKind::text : PostKind::link;
  return plan;
}

Params feed_params(const PostPlan& plan, const std::vector<std::string>& photo_ids) {
  Params p;
  if (!plan.message.empty()) p.emplace_back("message", plan.message);
  if (!plan.link.empty() && photo_ids.empty()) p.emplace_back("link", plan.link);
  if (!photo_ids.empty()) {
    json attached = json::array();
    for (const auto& id : photo_ids) attached.push_back({{"media_fbid", id}});
    p.emplace_back("attached_media", attached.dump());
  }
  p.emplace_back("published", "true");
  return p;
}

Params photo_params(const std::string& url, const std::string& message, bool published) {
  Params p{{"url", url}};
  if (!message.empty()) p.emplace_back("message", message);
  p.emplace_back("published", published ? "true" : "false");
  return p;
}

Params video_file_url_params(const std::string& url, const std::string& description) {
  Params p{{"file_url", url}};
  if (!description.empty()) p.emplace_back("description", description);
  p.emplace_back("published", "true");
  return p;
}

Params video_start_params(std::uint64_t file_size) {
  return {{"upload_phase", "start"}, {"file_size", std::to_string(file_size)}};
}

Params video_finish_params(const std::string& session_id, const std::string& description) {
  Params p{{"upload_phase", "finish"}, {"upload_session_id", session_id}};
  if (!description.empty()) p.emplace_back("description", description);
  p.emplace_back("published", "true");
  return p;
}

Params reel_start_params() {
  return {{"upload_phase", "start"}};
}

Params reel_finish_params(const std::string& video_id, const std::string& description) {
  Params p{{"upload_phase", "finish"}, {"video_id", video_id}, {"video_state", "PUBLISHED"}};
  if (!description.empty()) p.emplace_back("description", description);
  return p;
}

std::string id_of(const json& answer) {
  return answer.is_object() && answer.contains("id") ? text_of(answer["id"]) : "";
}

std::optional<VideoSession> parse_video_start(const json& answer) {
  VideoSession s;
  if (!answer.is_object()) return std::nullopt;
  s.video_id = text_of(answer.value("video_id", json()));
  s.session_id = text_of(answer.value("upload_session_id", json()));
  const auto start = offset_of(answer, "start_offset");
  const auto end = offset_of(answer, "end_offset");
  if (s.session_id.empty() || !start || !end) return std::nullopt;
  s.window = {*start, *end};
  return s;
}

std::optional<TransferWindow> parse_transfer(const json& answer) {
  const auto start = offset_of(answer, "start_offset");
  const auto end = offset_of(answer, "end_offset");
  if (!start || !end) return std::nullopt;
  return TransferWindow{*start, *end};
}

std::optional<TransferWindow> parse_resume_window(std::string_view error_body) {
  const auto doc = json::parse(error_body, nullptr, false);
  if (!doc.is_object() || !doc.contains("error") || !doc["error"].is_object()) return std::nullopt;
  const auto& e = doc["error"];
  if (integer_of(e.value("error_subcode", json())) != 1363037) return std::nullopt;
  auto data = e.value("error_data", json());
  if (data.is_string()) data = json::parse(data.get<std::string>(), nullptr, false);
  return parse_transfer(data);
}

std::optional<ReelSession> parse_reel_start(const json& answer) {
  if (!answer.is_object()) return std::nullopt;
  ReelSession s{text_of(answer.value("video_id", json())), string_of(answer, "upload_url")};
  if (s.video_id.empty() || s.upload_url.empty()) return std::nullopt;
  return s;
}

VideoState parse_video_state(const json& answer) {
  VideoState out;
  if (!answer.is_object()) return out;
  out.post_id = text_of(answer.value("post_id", json()));
  out.permalink_url = string_of(answer, "permalink_url");
  const auto status = answer.value("status", json::object());
  const auto phase = [&](const char* name) { return string_of(member(status, name, json::object()), "status"); };
  const auto video_status = string_of(status, "video_status");
  const auto processing = phase("processing_phase");
  const auto publishing = phase("publishing_phase");
  out.finish_received = (!processing.empty() && processing != "not_started") || video_status == "ready" ||
                        video_status == "error" || !out.post_id.empty();
  if (video_status == "error" || processing == "error") {
    out.phase = VideoState::Phase::failed;
    const auto p = member(status, "processing_phase", json::object());
    if (p.is_object() && p.contains("error")) out.error = string_of(p["error"], "message");
    if (out.error.empty()) out.error = "Facebook could not process the video.";
  } else if (video_status == "ready" || publishing == "complete") {
    out.phase = VideoState::Phase::ready;
  } else if (!out.finish_received) {
    out.phase = VideoState::Phase::uploading;
  } else {
    out.phase = VideoState::Phase::processing;
  }
  return out;
}

std::uint64_t parse_rupload_offset(const json& answer) {
  return offset_of(answer, "offset").value_or(0);
}

std::vector<RecentPost> parse_recent_posts(const json& answer) {
  std::vector<RecentPost> out;
  if (!answer.is_object() || !answer.contains("data") || !answer["data"].is_array()) return out;
  for (const auto& item : answer["data"]) {
    if (!item.is_object()) continue;
    RecentPost p;
    p.id = text_of(item.value("id", json()));
    p.message = string_of(item, "message");
    p.created_ms = graph_time_ms(string_of(item, "created_time"));
    p.permalink_url = string_of(item, "permalink_url");
    const auto attachments = item.value("attachments", json::object());
    if (attachments.is_object() && attachments.contains("data") && attachments["data"].is_array())
      for (const auto& a : attachments["data"])
        if (string_of(a, "type") == "share")
          p.link = a.contains("unshimmed_url") && a["unshimmed_url"].is_string() ? string_of(a, "unshimmed_url")
                                                                                 : string_of(a, "url");
    out.push_back(std::move(p));
  }
  return out;
}

bool recent_posts_complete(const json& answer) {
  if (!answer.is_object()) return false;
  const auto paging = answer.value("paging", json::object());
  return !paging.is_object() || !paging.contains("next");
}

Match match_recent(const PostPlan& plan, std::int64_t since_ms, const std::vector<RecentPost>& posts, bool complete,
                   std::string& post_id) {
  // Clocks differ: a post created a little before our record of the send still counts.
  constexpr std::int64_t kSkewMs = 120'000;
  int matches = 0;
  bool covers_window = complete;
  for (const auto& p : posts) {
    if (p.created_ms > 0 && p.created_ms < since_ms - kSkewMs) {
      covers_window = true;
      break;
    }
    const bool same_link = plan.link.empty() || plan.kind != PostKind::link || p.link == plan.link;
    if (p.message == plan.message && same_link) {
      ++matches;
      post_id = p.id;
    }
  }
  if (matches == 1) return Match::found;
  if (matches == 0 && covers_window) return Match::absent;
  return Match::undecided;
}

std::string_view post_metrics() {
  return "post_total_media_view_unique,post_media_view,post_reactions_by_type_total,post_clicks,post_clicks_by_type";
}

std::string_view engagement_fields() {
  return "shares,comments.summary(true),reactions.summary(total_count)";
}

json PostInsights::to_json(const std::string& post_id) const {
  return {{"post_id", post_id},
          {"views", views},
          {"media_views", media_views},
          {"reactions", reactions},
          {"reactions_total", reactions_total},
          {"clicks", clicks},
          {"clicks_by_type", clicks_by_type},
          {"comments", comments},
          {"shares", shares},
          {"engagement", engagement()}};
}

void read_insights(const json& answer, PostInsights& out) {
  if (!answer.is_object() || !answer.contains("data") || !answer["data"].is_array()) return;
  for (const auto& metric : answer["data"]) {
    if (!metric.is_object()) continue;
    const auto name = string_of(metric, "name");
    const auto values = metric.value("values", json::array());
    if (!values.is_array() || values.empty() || !values[0].is_object()) continue;
    const auto value = values[0].value("value", json());
    std::int64_t sum = 0;
    if (value.is_object())
      for (const auto& [k, v] : value.items()) sum = add_counts(sum, count_of(v));
    else
      sum = count_of(value);
    if (name == "post_total_media_view_unique") out.views = sum;
    if (name == "post_media_view") out.media_views = sum;
    if (name == "post_clicks") out.clicks = sum;
    if (name == "post_clicks_by_type" && value.is_object()) out.clicks_by_type = value;
    if (name == "post_reactions_by_type_total" && value.is_object()) {
      out.reactions = value;
      out.reactions_total = sum;
    }
  }
}

void read_engagement(const json& answer, PostInsights& out) {
  if (!answer.is_object()) return;
  const auto summary_count = [&](const char* edge) -> std::int64_t {
    const auto e = answer.value(edge, json::object());
    if (!e.is_object()) return 0;
    const auto s = e.value("summary", json::object());
    return s.is_object() ? count_of(s.value("total_count", json(0))) : 0;
  };
  const auto shares = answer.value("shares", json::object());
  if (shares.is_object()) out.shares = count_of(shares.value("count", json(0)));
  out.comments = summary_count("comments");
  if (out.reactions_total == 0) out.reactions_total = summary_count("reactions");
}

std::vector<PageAccount> parse_accounts(const json& answer, std::string& after) {
  std::vector<PageAccount> out;
  after.clear();
  if (!answer.is_object() || !answer.contains("data") || !answer["data"].is_array()) return out;
  for (const auto& item : answer["data"]) {
    if (!item.is_object()) continue;
    PageAccount page;
    page.id = text_of(item.value("id", json()));
    page.name = string_of(item, "name");
    page.access_token = string_of(item, "access_token");
    for (const auto& t : item.value("tasks", json::array()))
      if (t.is_string()) page.tasks.push_back(t.get<std::string>());
    if (!page.id.empty()) out.push_back(std::move(page));
  }
  const auto paging = answer.value("paging", json::object());
  if (paging.is_object() && paging.contains("next")) {
    const auto cursors = paging.value("cursors", json::object());
    after = string_of(cursors, "after");
  }
  return out;
}

std::optional<DebugToken> parse_debug_token(const json& answer) {
  if (!answer.is_object() || !answer.contains("data") || !answer["data"].is_object()) return std::nullopt;
  const auto& d = answer["data"];
  DebugToken t;
  t.valid = d.contains("is_valid") && d["is_valid"].is_boolean() && d["is_valid"].get<bool>();
  t.type = string_of(d, "type");
  // Epoch seconds; 0 (never, unknown) for anything outside 1..2^40, which callers turn into ms.
  const auto epoch_s = [&](const char* key) {
    const auto v = integer_of(d.value(key, json(0)));
    return v > 0 && v < (std::int64_t{1} << 40) ? v : 0;
  };
  t.expires_at_s = epoch_s("expires_at");
  t.data_access_expires_at_s = epoch_s("data_access_expires_at");
  t.user_id = text_of(d.value("user_id", json()));
  t.profile_id = text_of(d.value("profile_id", json()));
  for (const auto& s : d.value("scopes", json::array())) {
    if (!s.is_string()) continue;
    if (!t.scopes.empty()) t.scopes += ",";
    t.scopes += s.get<std::string>();
  }
  const auto e = d.value("error", json::object());
  if (e.is_object()) {
    t.error_code = integer_of(e.value("code", json(0)));
    t.error_subcode = integer_of(e.value("subcode", e.value("error_subcode", json(0))));
    t.error_message = string_of(e, "message");
  }
  return t;
}

bool subcode_means_revoked(long long subcode) {
  static constexpr std::array<long long, 10> kRevoked{456, 458, 459, 460, 461, 464, 466, 467, 468, 492};
  return std::find(kRevoked.begin(), kRevoked.end(), subcode) != kRevoked.end();
}

}  // namespace schedulo::facebook
