#include "flag_names.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace csml::cli {
namespace {

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Replaces `field` wherever it stands as a whole word.
void ReplaceWords(std::string* text, std::string_view field, std::string_view flag) {
  std::size_t at = 0;
  while ((at = text->find(field, at)) != std::string::npos) {
    const std::size_t end = at + field.size();
    const bool whole = (at == 0 || !IsWordChar((*text)[at - 1])) &&
                       (end == text->size() || !IsWordChar((*text)[end]));
    if (!whole) {
      at = end;
      continue;
    }
    text->replace(at, field.size(), flag);
    at += flag.size();
  }
}

}  // namespace

Error NameFlags(Error error, std::span<const FieldFlag> names) {
  std::vector<FieldFlag> by_length(names.begin(), names.end());
  std::stable_sort(by_length.begin(), by_length.end(), [](const FieldFlag& a, const FieldFlag& b) {
    return a.field.size() > b.field.size();
  });
  std::string& text = error.message;
  for (const FieldFlag& name : by_length) {
    const std::string_view head = std::string_view(text).substr(0, name.field.size() + 1);
    if (head.size() > name.field.size() && head.substr(0, name.field.size()) == name.field &&
        (head.back() == ':' || head.back() == ' ')) {
      text.replace(0, name.field.size(), name.flag);
      break;
    }
  }
  for (const FieldFlag& name : by_length) {
    if (name.field.find('_') != std::string_view::npos) ReplaceWords(&text, name.field, name.flag);
  }
  return error;
}

Status NameFlags(Status status, std::span<const FieldFlag> names) {
  if (status) return status;
  return tl::unexpected(NameFlags(std::move(status.error()), names));
}

}  // namespace csml::cli
