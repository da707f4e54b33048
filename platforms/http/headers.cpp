#include "platforms/http/headers.hpp"

#include <algorithm>

namespace schedulo::http {

bool iequals(std::string_view a, std::string_view b) {
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

void Headers::set(std::string_view name, std::string_view value) {
  remove(name);
  add(name, value);
}

void Headers::add(std::string_view name, std::string_view value) { fields_.emplace_back(name, value); }

void Headers::remove(std::string_view name) {
  std::erase_if(fields_, [&](const Field& f) { return iequals(f.first, name); });
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  const auto it = std::find_if(fields_.begin(), fields_.end(), [&](const Field& f) { return iequals(f.first, name); });
  if (it == fields_.end()) return std::nullopt;
  return it->second;
}

}  // namespace schedulo::http
