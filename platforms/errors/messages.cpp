#include "platforms/errors/messages.hpp"

#include <vector>

namespace schedulo::errors {
namespace {

using json = nlohmann::json;

const json* entry(const json& section, const std::string& key) {
  if (key.empty()) return nullptr;
  const auto it = section.find(key);
  if (it == section.end() || !it->is_object()) return nullptr;
  return &*it;
}

FriendlyMessage from(const json& e) {
  return FriendlyMessage{e.value("message", std::string()), e.value("action", std::string())};
}

}  // namespace

const json& message_catalogue() {
  static const json catalogue = json::parse(message_catalogue_text());
  return catalogue;
}

FriendlyMessage friendly_message(std::string_view platform, std::string_view code, std::string_view subcode,
                                 ErrorClass kind) {
  const json& all = message_catalogue();
  std::vector<std::string> sections{std::string(platform)};
  if (auto also = all.find("also"); also != all.end())
    if (auto list = also->find(std::string(platform)); list != also->end() && list->is_array())
      for (const auto& name : *list)
        if (name.is_string()) sections.push_back(name.get<std::string>());
  const std::string c(code), s(subcode);
  std::string both = c;
  both.append("/").append(s);
  for (const auto& name : sections) {
    const auto it = all.find(name);
    if (it == all.end() || !it->is_object()) continue;
    if (!s.empty())
      if (const json* e = entry(*it, both)) return from(*e);
    if (const json* e = entry(*it, c)) return from(*e);
    if (const json* e = entry(*it, s)) return from(*e);
  }
  const json& generic = all.at("generic");
  if (const json* e = entry(generic, c)) return from(*e);
  if (const json* e = entry(generic, std::string(to_string(kind)))) return from(*e);
  return from(generic.at("permanent"));
}

}  // namespace schedulo::errors
