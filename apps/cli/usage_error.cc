#include "usage_error.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace csml::cli {
namespace {

// The command the user was typing: the deepest subcommand CLI11 selected before it gave up.
const CLI::App* SelectedCommand(const CLI::App& root) {
  const CLI::App* app = &root;
  while (true) {
    const std::vector<CLI::App*> selected = app->get_subcommands();
    if (selected.empty()) return app;
    app = selected.front();
  }
}

// "csml models import": the names from the root down to `app`.
std::string CommandPath(const CLI::App* app) {
  std::vector<std::string> names;
  for (; app != nullptr; app = app->get_parent()) names.push_back(app->get_name());
  std::reverse(names.begin(), names.end());
  return fmt::format("{}", fmt::join(names, " "));
}

// "validate: " for a subcommand, "" for csml itself.
std::string CommandPrefix(const CLI::App* app) {
  if (app->get_parent() == nullptr) return "";
  const std::string path = CommandPath(app);
  return path.substr(path.find(' ') + 1) + ": ";
}

// Every flag `app` accepts as typed ("--json", "-h"), with those of the parents it falls
// through to (`csml models import --model-dir` belongs to `models`).
std::vector<std::string> FlagNames(const CLI::App* app) {
  std::vector<std::string> names;
  for (; app != nullptr; app = app->get_fallthrough() ? app->get_parent() : nullptr) {
    for (const CLI::Option* option : app->get_options()) {
      for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
      for (const std::string& name : option->get_snames()) names.push_back("-" + name);
    }
  }
  return names;
}

std::vector<std::string> SubcommandNames(const CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) {
    if (!sub->get_name().empty()) names.push_back(sub->get_name());
  }
  return names;
}

std::string DidYouMean(std::string_view typed, const std::vector<std::string>& candidates) {
  const std::string nearest = NearestName(typed, candidates);
  return nearest.empty() ? std::string() : fmt::format("; did you mean {}?", nearest);
}

// What a value of the option's CLI11 type looks like ("INT" -> "a whole number").
std::string ExpectedValue(const CLI::Option* option) {
  const std::string type = option == nullptr ? std::string() : option->get_type_name();
  if (type.rfind("INT", 0) == 0) return "a whole number";
  if (type.rfind("UINT", 0) == 0) return "a whole number >= 0";
  if (type.rfind("FLOAT", 0) == 0) return "a number";
  if (type.rfind("TEXT", 0) == 0) return "a value";
  return type.empty() ? std::string("a value") : fmt::format("a value ({})", type);
}

const CLI::Option* FindOption(const CLI::App* app, const std::string& name) {
  for (; app != nullptr; app = app->get_parent()) {
    if (const CLI::Option* option = app->get_option_no_throw(name)) return option;
  }
  return nullptr;
}

bool IsFlag(const std::string& arg) { return arg.size() > 1 && arg[0] == '-'; }

// The argument CLI11 could not place. Where a command was expected (`csml valdate --json`) a
// word is the mistake to name; elsewhere an unknown flag is (its value is left over too).
std::optional<std::string> LeftOver(const CLI::App* app) {
  std::vector<std::string> left = app->remaining();
  if (left.empty() && app->get_parent() != nullptr) left = app->get_parent()->remaining();
  if (left.empty()) return std::nullopt;
  const bool expects_command = !SubcommandNames(app).empty();
  const auto first = std::find_if(left.begin(), left.end(), [expects_command](const auto& a) {
    return IsFlag(a) != expects_command;
  });
  return first != left.end() ? *first : left.front();
}

std::string UnplacedMessage(const CLI::App* app, const std::string& arg) {
  if (IsFlag(arg)) {
    const std::string flag = arg.substr(0, arg.find('='));
    return fmt::format("unknown flag {}{}", flag, DidYouMean(flag, FlagNames(app)));
  }
  std::vector<std::string> commands = SubcommandNames(app);
  if (!commands.empty()) {
    commands.push_back("--help");  // `csml help` is a natural first try
    return fmt::format("unknown command '{}'{}", arg, DidYouMean(arg, commands));
  }
  return fmt::format("unexpected argument '{}'", arg);
}

// The part of CLI11's "Could not convert: --days = abc" after the marker, split at " = ".
std::optional<std::pair<std::string, std::string>> SplitConversion(const std::string& what) {
  constexpr std::string_view kMarker = "Could not convert: ";
  if (what.rfind(kMarker, 0) != 0) return std::nullopt;
  const std::string rest = what.substr(kMarker.size());
  const auto eq = rest.find(" = ");
  if (eq == std::string::npos) return std::nullopt;
  return std::make_pair(rest.substr(0, eq), rest.substr(eq + 3));
}

std::string Message(const CLI::App* app, const CLI::ParseError& error) {
  std::string what = error.what();
  const int code = error.get_exit_code();
  const auto is = [code](CLI::ExitCodes c) { return code == static_cast<int>(c); };
  if (is(CLI::ExitCodes::ExtrasError) || is(CLI::ExitCodes::RequiredError)) {
    if (std::optional<std::string> arg = LeftOver(app)) return UnplacedMessage(app, *arg);
  }
  if (is(CLI::ExitCodes::RequiredError) && what.rfind("A subcommand", 0) == 0) {
    return fmt::format("expected a command: {}", fmt::join(SubcommandNames(app), ", "));
  }
  if (is(CLI::ExitCodes::ConversionError)) {
    if (auto parts = SplitConversion(what)) {
      return fmt::format("{}: expected {}, got '{}'", parts->first,
                         ExpectedValue(FindOption(app, parts->first)), parts->second);
    }
  }
  if (is(CLI::ExitCodes::ExcludesError)) {
    // "--json excludes --quiet"
    const auto at = what.find(" excludes ");
    if (at != std::string::npos) {
      return fmt::format("{} and {} cannot be given together", what.substr(0, at),
                         what.substr(at + 10));
    }
  }
  if (is(CLI::ExitCodes::ArgumentMismatch)) {
    // "--days: 1 required INT missing": the flag came last, without its value.
    const std::string name = what.substr(0, what.find(':'));
    if (const CLI::Option* option = FindOption(app, name);
        option != nullptr && what.find("missing") != std::string::npos) {
      return fmt::format("{}: expected {} after it, got nothing", name, ExpectedValue(option));
    }
  }
  return what;
}

}  // namespace

std::size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment over three rows: two back for the swap of neighbours.
  std::vector<std::size_t> two_back(b.size() + 1);
  std::vector<std::size_t> previous(b.size() + 1);
  std::vector<std::size_t> current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], two_back[j - 2] + 1);
      }
    }
    std::swap(two_back, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::string NearestName(std::string_view typed, const std::vector<std::string>& candidates) {
  // Leading dashes are not letters the user could have mistyped.
  const auto letters = [](std::string_view s) {
    return s.substr(std::min(s.size(), s.find_first_not_of('-')));
  };
  const std::string_view word = letters(typed);
  if (word.empty()) return "";
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const std::string& candidate : candidates) {
    const std::size_t d = EditDistance(word, letters(candidate));
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  if (best_distance <= 2 && 2 * best_distance < word.size()) return best;
  std::string prefixed;
  for (const std::string& candidate : candidates) {
    if (letters(candidate).substr(0, word.size()) != word) continue;
    if (!prefixed.empty()) return "";  // more than one: no guess
    prefixed = candidate;
  }
  return prefixed;
}

void RefuseNegativeUnsigned(CLI::App& app) {
  const CLI::Validator non_negative(
      [](std::string& value) -> std::string {
        const std::size_t first = value.find_first_not_of(" \t");
        if (first == std::string::npos || value[first] != '-') return "";
        return fmt::format("expected a whole number >= 0, got '{}'", value);
      },
      "", "non-negative");
  for (CLI::Option* option : app.get_options()) {
    if (option->get_type_name().rfind("UINT", 0) == 0) option->check(non_negative);
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    RefuseNegativeUnsigned(*sub);
  }
}

int ReportParseError(const CLI::App& root, const CLI::ParseError& error) {
  const CLI::App* app = SelectedCommand(root);
  const std::string path = CommandPath(app);
  const std::string usage = CLI::Formatter().make_usage(app, path);
  std::fprintf(stderr, "csml: %s%s\n%sRun '%s --help' for more.\n", CommandPrefix(app).c_str(),
               Message(app, error).c_str(), usage.c_str(), path.c_str());
  return kExitUsage;
}

}  // namespace csml::cli
