#include "daemon/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon/config_schema.hpp"

namespace schedulo::daemon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

ConfigResult load(const std::string& text, const ConfigSources& sources = {}) {
  return load_config_text(text, sources);
}

ConfigSources with_env(std::map<std::string, std::string> environment) {
  ConfigSources sources;
  sources.environment = std::move(environment);
  return sources;
}

std::vector<std::string> error_keys(const ConfigResult& r) {
  std::vector<std::string> keys;
  for (const auto& e : r.errors) keys.push_back(e.key);
  return keys;
}

// A directory of its own under /tmp, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("schedulo-config-test-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& content) const {
    const fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << content;
    return file.string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

// --- the example ---------------------------------------------------------------------------------

TEST(ExampleConfig, LoadsWithoutErrors) {
  const auto r = load(example_config());
  EXPECT_TRUE(r.errors.empty()) << format_errors(r.errors);
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(r.config->http.listen, "127.0.0.1:8080");
  EXPECT_EQ(r.config->airtable.base_id, "appXXXXXXXXXXXXXX");
  EXPECT_EQ(r.config->bubble.callback_hosts, std::vector<std::string>{"myapp.bubbleapps.io"});
}

TEST(ExampleConfig, ContainsEverySchemaKeyWithItsHelp) {
  const std::string text = example_config();
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  ASSERT_TRUE(doc.is_object()) << text;
  std::size_t seen = 0;
  for (const auto& s : config_schema()) {
    std::string pointer = "/" + s.key;
    for (auto& c : pointer)
      if (c == '.') c = '/';
    EXPECT_TRUE(doc.contains(json::json_pointer(pointer))) << s.key;
    EXPECT_NE(text.find("// " + s.help + "\n"), std::string::npos) << s.key;
    ++seen;
  }
  EXPECT_EQ(seen, config_schema().size());
  EXPECT_GT(seen, 40u);
}

TEST(ExampleConfig, ShowsExampleValuesInsteadOfDefaultsWhereSet) {
  const json doc = json::parse(example_config(), nullptr, false, true);
  EXPECT_EQ(doc["http"]["public_url"], "https://schedulo.example.com");
  EXPECT_EQ(doc["vault"]["key_file"], "/etc/schedulo/vault.keys");
  EXPECT_EQ(doc["redis"]["url"], "redis://127.0.0.1:6379/0");
}

// --- defaults and syntax -------------------------------------------------------------------------

TEST(LoadConfig, EmptyObjectGivesAllDefaults) {
  const auto r = load("{}");
  ASSERT_TRUE(r.errors.empty()) << format_errors(r.errors);
  ASSERT_TRUE(r.config.has_value());
  const Config& c = *r.config;
  EXPECT_EQ(c.redis.url, "redis://127.0.0.1:6379/0");
  ASSERT_EQ(c.redis.parsed.endpoints.size(), 1u);
  EXPECT_EQ(c.redis.parsed.endpoints[0].host, "127.0.0.1");
  EXPECT_EQ(c.redis.parsed.endpoints[0].port, 6379);
  EXPECT_EQ(c.redis.parsed.db, 0);
  EXPECT_EQ(c.redis.parsed.password, "");
  EXPECT_EQ(c.redis.prefix, "schedulo");
  EXPECT_EQ(c.redis.connect_timeout_ms, 3000);
  EXPECT_EQ(c.redis.command_timeout_ms, 5000);
  EXPECT_TRUE(c.redis.require_durability);
  EXPECT_EQ(c.http.listen, "");
  EXPECT_EQ(c.http.token, "");
  EXPECT_EQ(c.airtable.base_url, "https://api.airtable.com");
  EXPECT_EQ(c.airtable.accounts_table, "Accounts");
  EXPECT_EQ(c.airtable.posts_table, "Posts");
  EXPECT_EQ(c.airtable.analytics_table, "Analytics");
  EXPECT_EQ(c.airtable.events_table, "Events");
  EXPECT_DOUBLE_EQ(c.airtable.requests_per_second, 3.0);
  EXPECT_EQ(c.airtable.monthly_call_budget, 0);
  ASSERT_EQ(c.platforms.size(), 4u);
  EXPECT_EQ(c.platforms.at("instagram").base_url, "https://graph.facebook.com/v25.0");
  EXPECT_EQ(c.platforms.at("x").auth_url, "https://x.com/i/oauth2/authorize");
  EXPECT_TRUE(c.bubble.callback_hosts.empty());
  EXPECT_TRUE(c.security.allow_private_hosts.empty());
  EXPECT_EQ(c.workers.concurrency, 32);
  EXPECT_EQ(c.tls.ca_file, "");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.jobs.max_attempts, 5);
  EXPECT_EQ(c.jobs.max_job_bytes, 65536);
}

TEST(LoadConfig, LineAndBlockCommentsAreAccepted) {
  const auto r = load(
      "// leading comment\n"
      "{ /* block\n comment */ \"workers\": {\"concurrency\": 8}, // trailing\n"
      "  \"redis\": {\"prefix\": \"tenant-a\" /* inline */}\n"
      "}\n");
  ASSERT_TRUE(r.errors.empty()) << format_errors(r.errors);
  EXPECT_EQ(r.config->workers.concurrency, 8);
  EXPECT_EQ(r.config->redis.prefix, "tenant-a");
}

TEST(LoadConfig, NonObjectDocumentIsAnError) {
  const auto r = load("[1, 2]");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "");
  EXPECT_EQ(r.errors[0].message, "the configuration must be a JSON object");
}

TEST(LoadConfig, SyntaxErrorReportsLineAndColumn) {
  const auto r = load("{\"a\": 1,}");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "");
  EXPECT_TRUE(r.errors[0].message.starts_with("not valid JSON at line 1, column 9: syntax error"))
      << r.errors[0].message;
}

TEST(LoadConfig, SyntaxErrorDoesNotEchoTextNearTheError) {
  // The unescaped newline ends the string early: nlohmann's own message would quote the secret.
  const std::string text = "{\n  \"http\": {\"token\": \"FAKE-SECRET-zz9911\n\"}\n}\n";
  const auto r = load(text);
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.message.find("FAKE-SECRET"), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find("zz9911"), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find("last read"), std::string::npos) << e.message;
  }
  EXPECT_TRUE(r.errors[0].message.starts_with("not valid JSON at line 2, column 40: syntax error"))
      << r.errors[0].message;
  EXPECT_EQ(format_errors(r.errors).find("FAKE-SECRET"), std::string::npos);
}

TEST(LoadConfig, SyntaxErrorAfterSecretInvalidLiteralDoesNotEchoIt) {
  const auto r = load("{\"http\": {\"token\": \"FAKE-SECRET-aa1122\"}, tru}");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message.find("FAKE-SECRET"), std::string::npos) << r.errors[0].message;
  EXPECT_TRUE(r.errors[0].message.starts_with("not valid JSON at line 1, column ")) << r.errors[0].message;
}

// --- unknown keys and types ----------------------------------------------------------------------

TEST(LoadConfig, UnknownKeySuggestsTheClosestKey) {
  const auto r = load(R"({"redis": {"urll": "redis://h:1/0"}})");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "redis.urll");
  EXPECT_NE(r.errors[0].message.find("did you mean \"redis.url\""), std::string::npos) << r.errors[0].message;
  EXPECT_EQ(r.errors[0].message, "unknown key (did you mean \"redis.url\"?)");
}

TEST(LoadConfig, UnknownKeyFarFromEveryKeyHasNoSuggestion) {
  const auto r = load(R"({"completely_different": 1})");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "completely_different");
  EXPECT_EQ(r.errors[0].message, "unknown key");
}

TEST(LoadConfig, SectionGivenAsScalarMustBeAnObject) {
  const auto r = load(R"({"redis": 5})");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "redis");
  EXPECT_EQ(r.errors[0].message, "must be an object");
}

TEST(LoadConfig, StringForIntegerNamesKeyAndType) {
  const auto r = load(R"({"workers": {"concurrency": "8"}})");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "workers.concurrency");
  EXPECT_EQ(r.errors[0].message, "must be an integer");
}

TEST(LoadConfig, FractionForIntegerIsAnError) {
  const auto r = load(R"({"workers": {"concurrency": 8.5}})");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "workers.concurrency");
  EXPECT_EQ(r.errors[0].message, "must be an integer");
}

TEST(LoadConfig, OtherWrongTypesNameTheExpectedKind) {
  const auto r = load(
      R"({"redis": {"require_durability": "yes", "prefix": 1}, "bubble": {"callback_hosts": ["a.com", 2]}})");
  EXPECT_EQ(error_keys(r),
            (std::vector<std::string>{"redis.prefix", "redis.require_durability", "bubble.callback_hosts"}));
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].message, "must be a string");
  EXPECT_EQ(r.errors[1].message, "must be true or false");
  EXPECT_EQ(r.errors[2].message, "must be a list of strings");
}

TEST(LoadConfig, EveryErrorIsReportedNotOnlyTheFirst) {
  const auto r = load(R"({"redis": {"urll": 1}, "workers": {"concurrency": "8"}, "log": {"format": "xml"}})");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(error_keys(r), (std::vector<std::string>{"redis.urll", "workers.concurrency", "log.format"}));
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[2].message, "must be one of: text, json");
}

// --- checks --------------------------------------------------------------------------------------

TEST(LoadConfig, NonRedisUrlIsAnErrorOnRedisUrl) {
  const auto r = load(R"({"redis": {"url": "http://x"}})");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "redis.url");
  EXPECT_EQ(r.errors[0].message,
            "not a valid Redis URL: must start with redis://, rediss:// or redis-sentinel://");
}

TEST(LoadConfig, RequestsPerSecondAboveFiveIsAnError) {
  const auto r = load(R"({"airtable": {"requests_per_second": 6}})");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "airtable.requests_per_second");
  EXPECT_EQ(r.errors[0].message, "must be more than 0 and at most 5 (Airtable's limit per base)");
}

TEST(LoadConfig, RequestsPerSecondBoundariesAndFractions) {
  EXPECT_EQ(error_keys(load(R"({"airtable": {"requests_per_second": 0}})")),
            std::vector<std::string>{"airtable.requests_per_second"});
  const auto five = load(R"({"airtable": {"requests_per_second": 5}})");
  ASSERT_TRUE(five.config.has_value()) << format_errors(five.errors);
  EXPECT_DOUBLE_EQ(five.config->airtable.requests_per_second, 5.0);
  const auto half = load(R"({"airtable": {"requests_per_second": 0.5}})");
  ASSERT_TRUE(half.config.has_value()) << format_errors(half.errors);
  EXPECT_DOUBLE_EQ(half.config->airtable.requests_per_second, 0.5);
}

TEST(LoadConfig, ZeroConcurrencyIsOutOfRange) {
  const auto r = load(R"({"workers": {"concurrency": 0}})");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "workers.concurrency");
  EXPECT_EQ(r.errors[0].message, "must be from 1 to 4096");
}

TEST(LoadConfig, ConcurrencyRangeIsInclusive) {
  EXPECT_EQ(load(R"({"workers": {"concurrency": 1}})").config->workers.concurrency, 1);
  EXPECT_EQ(load(R"({"workers": {"concurrency": 4096}})").config->workers.concurrency, 4096);
  EXPECT_EQ(error_keys(load(R"({"workers": {"concurrency": 4097}})")),
            std::vector<std::string>{"workers.concurrency"});
}

TEST(LoadConfig, BadAllowPrivateHostsEntryIsAnErrorOnThatKey) {
  const auto r = load(R"({"security": {"allow_private_hosts": ["127.0.0.1", "10.0.0.0/33"]}})");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "security.allow_private_hosts");
  EXPECT_NE(r.errors[0].message.find("\"10.0.0.0/33\" is not a host name, IP address or CIDR range"),
            std::string::npos)
      << r.errors[0].message;
}

TEST(LoadConfig, GoodAllowPrivateHostsAreKept) {
  const auto r = load(R"({"security": {"allow_private_hosts": ["10.0.0.0/8", "redis.internal", "::1"]}})");
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->security.allow_private_hosts,
            (std::vector<std::string>{"10.0.0.0/8", "redis.internal", "::1"}));
}

TEST(LoadConfig, BadCallbackHostNamesItsIndex) {
  const auto r = load(R"({"bubble": {"callback_hosts": ["ok.example.com", "bad host"]}})");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "bubble.callback_hosts");
  EXPECT_EQ(r.errors[0].message, "entry 1 is not a host name");
}

TEST(LoadConfig, MissingCaFileIsAnError) {
  const auto r = load(R"({"tls": {"ca_file": "/nonexistent/schedulo-test-ca.pem"}})");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "tls.ca_file");
  EXPECT_EQ(r.errors[0].message, "no such file: /nonexistent/schedulo-test-ca.pem");
}

TEST(LoadConfig, ExistingCaFileIsAccepted) {
  const TempDir dir;
  const std::string ca = dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  const auto r = load(json{{"tls", {{"ca_file", ca}}}}.dump());
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->tls.ca_file, ca);
}

TEST(LoadConfig, ShortHttpTokenIsRejectedWithoutEchoingIt) {
  const auto r = load(R"({"http": {"token": "short-tok"}})");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "http.token");
  EXPECT_EQ(r.errors[0].message, "is too short: use at least 16 characters");
}

// --- environment ---------------------------------------------------------------------------------

TEST(LoadConfigEnv, RedisUrlFromEnvironmentOverridesFile) {
  const auto r = load(R"({"redis": {"url": "redis://file-host:6379/0"}})",
                      with_env({{"SCHEDULO_REDIS__URL", "redis://10.1.2.3:6380/2"}}));
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->redis.url, "redis://10.1.2.3:6380/2");
  ASSERT_EQ(r.config->redis.parsed.endpoints.size(), 1u);
  EXPECT_EQ(r.config->redis.parsed.endpoints[0].host, "10.1.2.3");
  EXPECT_EQ(r.config->redis.parsed.endpoints[0].port, 6380);
  EXPECT_EQ(r.config->redis.parsed.db, 2);
}

TEST(LoadConfigEnv, IntegerFromEnvironment) {
  const auto r = load("{}", with_env({{"SCHEDULO_WORKERS__CONCURRENCY", "7"}}));
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->workers.concurrency, 7);
}

TEST(LoadConfigEnv, ListFromEnvironmentIsCommaSeparatedAndTrimmed) {
  const auto r = load("{}", with_env({{"SCHEDULO_BUBBLE__CALLBACK_HOSTS", "a.example.com, b.example.com"}}));
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->bubble.callback_hosts, (std::vector<std::string>{"a.example.com", "b.example.com"}));
}

TEST(LoadConfigEnv, NumberAndBooleanFromEnvironment) {
  const auto r = load("{}", with_env({{"SCHEDULO_AIRTABLE__REQUESTS_PER_SECOND", "2.5"},
                                      {"SCHEDULO_REDIS__REQUIRE_DURABILITY", "no"}}));
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_DOUBLE_EQ(r.config->airtable.requests_per_second, 2.5);
  EXPECT_FALSE(r.config->redis.require_durability);
}

TEST(LoadConfigEnv, BadIntegerNamesTheVariable) {
  const auto r = load("{}", with_env({{"SCHEDULO_WORKERS__CONCURRENCY", "x"}}));
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "workers.concurrency");
  EXPECT_EQ(r.errors[0].message, "must be an integer (from SCHEDULO_WORKERS__CONCURRENCY)");
}

TEST(LoadConfigEnv, BadBooleanNamesTheVariable) {
  const auto r = load("{}", with_env({{"SCHEDULO_REDIS__REQUIRE_DURABILITY", "maybe"}}));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "redis.require_durability");
  EXPECT_EQ(r.errors[0].message, "must be true or false (from SCHEDULO_REDIS__REQUIRE_DURABILITY)");
}

TEST(LoadConfigEnv, OutOfRangeEnvironmentValueIsChecked) {
  const auto r = load("{}", with_env({{"SCHEDULO_WORKERS__CONCURRENCY", "0"}}));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "workers.concurrency");
  EXPECT_EQ(r.errors[0].message, "must be from 1 to 4096");
}

// --- credentials ---------------------------------------------------------------------------------

TEST(LoadConfigCredentials, SecretFileWinsOverFileAndEnvironmentAndLosesTrailingNewline) {
  const TempDir dir;
  dir.write("http.token", "cred-token-0123456789abcdef\n");
  ConfigSources sources = with_env({{"SCHEDULO_HTTP__TOKEN", "env-token-0123456789abcdef"}});
  sources.credentials_directory = dir.path();
  const auto r = load(R"({"http": {"token": "json-token-0123456789abcdef"}})", sources);
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->http.token, "cred-token-0123456789abcdef");
}

TEST(LoadConfigCredentials, CrLfIsDroppedToo) {
  const TempDir dir;
  dir.write("airtable.token", "patABC.def123\r\n");
  ConfigSources sources;
  sources.credentials_directory = dir.path();
  const auto r = load("{}", sources);
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->airtable.token, "patABC.def123");
}

TEST(LoadConfigCredentials, NonSecretKeyCredentialFileIsIgnored) {
  const TempDir dir;
  dir.write("redis.prefix", "from-credential\n");
  dir.write("workers.concurrency", "9\n");
  ConfigSources sources;
  sources.credentials_directory = dir.path();
  const auto r = load(R"({"redis": {"prefix": "from-json"}})", sources);
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->redis.prefix, "from-json");
  EXPECT_EQ(r.config->workers.concurrency, 32);
}

TEST(LoadConfigCredentials, MissingSecretFileKeepsTheJsonValue) {
  const TempDir dir;
  ConfigSources sources;
  sources.credentials_directory = dir.path();
  const auto r = load(R"({"bubble": {"api_token": "bubble-json-token"}})", sources);
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->bubble.api_token, "bubble-json-token");
}

TEST(LoadConfigCredentials, RedisPasswordCredentialReachesParsedUrl) {
  const TempDir dir;
  dir.write("redis.password", "cred-redis-pw\n");
  ConfigSources sources;
  sources.credentials_directory = dir.path();
  const auto r = load(R"({"redis": {"url": "redis://:urlpass@db.internal:6379/0"}})", sources);
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->redis.parsed.password, "cred-redis-pw");
}

// --- redis.password ------------------------------------------------------------------------------

TEST(LoadConfig, RedisPasswordOverridesThePasswordInTheUrl) {
  const auto r = load(R"({"redis": {"url": "redis://:urlpass@db.internal:6379/3", "password": "override-pw"}})");
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->redis.parsed.password, "override-pw");
  EXPECT_EQ(r.config->redis.url, "redis://:urlpass@db.internal:6379/3");
  ASSERT_EQ(r.config->redis.parsed.endpoints.size(), 1u);
  EXPECT_EQ(r.config->redis.parsed.endpoints[0].host, "db.internal");
  EXPECT_EQ(r.config->redis.parsed.db, 3);
}

TEST(LoadConfig, UrlPasswordIsKeptWhenRedisPasswordIsEmpty) {
  const auto r = load(R"({"redis": {"url": "redis://:urlpass@db.internal:6379/0"}})");
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->redis.parsed.password, "urlpass");
}

// --- files and formatting ------------------------------------------------------------------------

TEST(LoadConfigFile, ReadsTheFile) {
  const TempDir dir;
  const std::string path = dir.write("schedulo.json", "{\"workers\": {\"concurrency\": 12}}\n");
  const auto r = load_config_file(path, {});
  ASSERT_TRUE(r.config.has_value()) << format_errors(r.errors);
  EXPECT_EQ(r.config->workers.concurrency, 12);
}

TEST(LoadConfigFile, MissingFileIsAnError) {
  const auto r = load_config_file("/nonexistent/schedulo.json", {});
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "");
  EXPECT_EQ(r.errors[0].message, "cannot read /nonexistent/schedulo.json");
}

TEST(FormatErrors, OneKeyColonMessageLinePerError) {
  EXPECT_EQ(format_errors({{"redis.url", "not a valid Redis URL"}, {"", "not valid JSON"}}),
            "redis.url: not a valid Redis URL\nconfig: not valid JSON\n");
  EXPECT_EQ(format_errors({}), "");
}

TEST(FormatErrors, FormatsLoadErrors) {
  const auto r = load(R"({"workers": {"concurrency": "8"}, "redis": {"url": "http://x"}})");
  EXPECT_EQ(format_errors(r.errors),
            "redis.url: not a valid Redis URL: must start with redis://, rediss:// or redis-sentinel://\n"
            "workers.concurrency: must be an integer\n");
}

// --- schema --------------------------------------------------------------------------------------

TEST(ConfigSchema, FindSettingKnowsKeysAndKinds) {
  const Setting* s = find_setting("workers.concurrency");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, Kind::integer);
  EXPECT_EQ(s->default_value, 32);
  EXPECT_FALSE(s->secret);
  EXPECT_EQ(find_setting("redis.urll"), nullptr);
  EXPECT_EQ(find_setting("redis"), nullptr);
}

TEST(ConfigSchema, SecretsAreMarked) {
  for (const char* key : {"redis.password", "http.token", "airtable.token", "bubble.api_token",
                          "platforms.instagram.client_secret", "platforms.x.client_secret"}) {
    const Setting* s = find_setting(key);
    ASSERT_NE(s, nullptr) << key;
    EXPECT_TRUE(s->secret) << key;
  }
}

TEST(ConfigSchema, KeysAreUnique) {
  const auto& schema = config_schema();
  for (std::size_t i = 0; i < schema.size(); ++i)
    for (std::size_t j = i + 1; j < schema.size(); ++j) EXPECT_NE(schema[i].key, schema[j].key);
}

TEST(ConfigSchema, KindNames) {
  EXPECT_EQ(kind_name(Kind::string), "a string");
  EXPECT_EQ(kind_name(Kind::integer), "an integer");
  EXPECT_EQ(kind_name(Kind::number), "a number");
  EXPECT_EQ(kind_name(Kind::boolean), "true or false");
  EXPECT_EQ(kind_name(Kind::string_list), "a list of strings");
}

}  // namespace
}  // namespace schedulo::daemon
