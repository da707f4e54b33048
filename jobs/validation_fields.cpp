#include "jobs/validation_checker.hpp"

#include "common/rfc3339.hpp"

#include <algorithm>

namespace schedulo::jobs::validation {

void Checker::id(const json& doc, Job& job) {
  const json* v = member(doc, "id");
  if (!v) return;
  const std::string* s = string_value(*v, "id", "a string");
  if (!s) return;
  const bool ok = !s->empty() && s->size() <= kMaxIdLength && std::all_of(s->begin(), s->end(), [](char c) {
    return is_alnum(c) || c == '_' || c == '.' || c == ':' || c == '-';
  });
  if (!ok) {
    add("id", "invalid_value", "id must be 1 to 128 characters from A-Z a-z 0-9 _ . : - (got " + in_quotes(*s) + ")");
    return;
  }
  job.id = *s;
}

void Checker::account(const json& doc, Job& job) {
  const json* v = member(doc, "account");
  if (!v) {
    add("account", "required", "account is required: the connected account's key");
    return;
  }
  const std::string* s = string_value(*v, "account", "a string");
  if (!s) return;
  if (s->empty()) {
    add("account", "invalid_value", "account must not be empty");
    return;
  }
  if (text_ok(*s, "account", kMaxAccountLength, false)) job.account = *s;
}

void Checker::run_at(const json& doc, Job& job) {
  const json* v = member(doc, "run_at");
  if (!v) return;
  const std::string* s = string_value(*v, "run_at", "an RFC 3339 time string");
  if (!s) return;
  const auto ms = parse_rfc3339_ms(*s);
  if (!ms) {
    add("run_at", "invalid_value",
        "run_at must be an RFC 3339 time such as 2026-05-01T09:30:00Z (got " + in_quotes(*s) + ")");
  } else if (*ms < 0 || *ms > kMaxRunAtMs) {
    add("run_at", "invalid_value", "run_at must be between 1970 and 9999 (got " + in_quotes(*s) + ")");
  } else {
    job.run_at_ms = *ms;
  }
}

void Checker::post_record(const json& doc, Job& job) {
  const json* v = member(doc, "post_record");
  if (!v) return;
  const std::string* s = string_value(*v, "post_record", "a string");
  if (!s) return;
  const bool ok =
      s->size() == kAirtableRecordIdLength && s->starts_with("rec") && std::all_of(s->begin() + 3, s->end(), is_alnum);
  if (!ok) {
    add("post_record", "invalid_value",
        "post_record must be an Airtable record id: \"rec\" and 14 letters or digits (got " + in_quotes(*s) + ")");
    return;
  }
  job.post_record = *s;
}

void Checker::callback_url(const json& doc, Job& job) {
  if (const json* v = member(doc, "callback_url"))
    if (auto url = url_value(*v, "callback_url", true)) job.callback_url = std::move(*url);
}

void Checker::max_attempts(const json& doc, Job& job) {
  const json* v = member(doc, "max_attempts");
  if (!v) return;
  const int limit = context_.max_attempts_limit;
  const std::string expected = "an integer from 1 to " + std::to_string(limit);
  if (!v->is_number_integer()) {
    add("max_attempts", "wrong_type", "max_attempts must be " + expected + ", not " + type_name(*v));
    return;
  }
  const bool in_range = v->is_number_unsigned() ? v->get<std::uint64_t>() <= static_cast<std::uint64_t>(limit) &&
                                                      v->get<std::uint64_t>() >= 1
                                                : v->get<std::int64_t>() >= 1 && v->get<std::int64_t>() <= limit;
  if (!in_range) {
    add("max_attempts", "invalid_value", "max_attempts must be " + expected + " (got " + v->dump() + ")");
    return;
  }
  job.max_attempts = static_cast<int>(v->get<std::int64_t>());
}

void Checker::targets(const json& doc, std::optional<JobType> type, Job& job) {
  const json* v = member(doc, "targets");
  if (!v) return;
  if (type && *type != JobType::fetch_analytics) {
    add("targets", "not_allowed", "targets is only allowed in fetch_analytics jobs");
    return;
  }
  if (!v->is_object()) {
    add("targets", "wrong_type", "targets must be an object, not " + type_name(*v));
    return;
  }
  const std::size_t before = error_count();
  std::vector<std::string> ids;
  const json* list = member(*v, "post_ids");
  if (!list) {
    add("targets.post_ids", "required", "targets.post_ids is required: 1 to 100 platform post ids");
  } else if (!list->is_array()) {
    add("targets.post_ids", "wrong_type", "targets.post_ids must be an array of post ids, not " + type_name(*list));
  } else if (list->empty()) {
    add("targets.post_ids", "invalid_value",
        "targets.post_ids must list 1 to 100 post ids (leave out targets for the account's recent "
        "posts)");
  } else if (list->size() > kMaxTargetPostIds) {
    add("targets.post_ids", "too_many",
        "targets.post_ids has " + std::to_string(list->size()) + " items; at most 100 are allowed");
  } else {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string field = "targets.post_ids[" + std::to_string(i) + "]";
      const std::string* s = string_value((*list)[i], field, "a post id string");
      if (!s) continue;
      if (s->empty()) {
        add(field, "invalid_value", field + " must not be empty");
      } else if (text_ok(*s, field, kMaxPostIdLength, false)) {
        ids.push_back(*s);
      }
    }
  }
  refuse_unknown(*v, "targets", {"post_ids"}, "targets");
  if (error_count() == before) job.target_post_ids = std::move(ids);
}

}  // namespace schedulo::jobs::validation
