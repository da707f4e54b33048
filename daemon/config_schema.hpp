#pragma once
// The one declaration of every configuration key: type, default, secret or not, description, check.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schedulo::daemon {

enum class Kind { string, integer, number, boolean, string_list };

struct Setting {
  std::string key;
  Kind kind = Kind::string;
  nlohmann::json default_value;
  bool secret = false;
  std::string help;
  // Returns what is wrong with a value of the right type; nullopt when it is fine.
  std::function<std::optional<std::string>(const nlohmann::json&)> check;
  nlohmann::json example;  // shown by `config example` instead of the default, when set
};

const std::vector<Setting>& config_schema();
const Setting* find_setting(std::string_view key);
std::string_view kind_name(Kind kind);

}  // namespace schedulo::daemon
