#include "jobs/job_validation.hpp"

#include "jobs/json_guard.hpp"
#include "jobs/validation_checker.hpp"

namespace schedulo::jobs {
namespace {

ParseResult failure(std::string code, std::string message, std::string field = {}) {
  return {std::nullopt, {{std::move(field), std::move(code), std::move(message)}}};
}

}  // namespace

ParseResult parse_job(std::string_view raw, const ValidationContext& context) {
  if (raw.size() > context.max_job_bytes)
    return failure("too_large", "the job is " + std::to_string(raw.size()) + " bytes; at most " +
                                    std::to_string(context.max_job_bytes) + " are accepted");
  if (nested_deeper_than(raw, kMaxJsonDepth))
    return failure("too_deep", "the job is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  StrictParse parsed = parse_strict_json(raw);
  if (!parsed.code.empty()) return failure(std::move(parsed.code), std::move(parsed.message), std::move(parsed.field));
  return validate_job(parsed.document, context);
}

ParseResult validate_job(const nlohmann::json& document, const ValidationContext& context) {
  using namespace validation;
  Checker check(context);
  if (!document.is_object()) {
    check.add("", "wrong_type", "the job must be a JSON object, not " + type_name(document));
    return {std::nullopt, check.take()};
  }
  Job job;
  check.id(document, job);
  const auto type = check.required_enum(document, "type", kJobTypeNames);
  const auto platform = check.required_enum(document, "platform", kPlatformNames);
  check.account(document, job);
  check.run_at(document, job);
  const auto job_type = type ? std::optional<JobType>(static_cast<JobType>(*type)) : std::nullopt;
  const auto job_platform = platform ? std::optional<Platform>(static_cast<Platform>(*platform)) : std::nullopt;
  check.post(document, job_type, job_platform, job);
  check.targets(document, job_type, job);
  check.post_record(document, job);
  check.callback_url(document, job);
  check.max_attempts(document, job);
  check.refuse_unknown(
      document, "",
      {"id", "type", "platform", "account", "run_at", "post", "targets", "post_record", "callback_url", "max_attempts"},
      "a job");
  ParseResult result{std::nullopt, check.take()};
  if (result.errors.empty()) {
    job.type = *job_type;
    job.platform = *job_platform;
    result.job = std::move(job);
  }
  return result;
}

}  // namespace schedulo::jobs
