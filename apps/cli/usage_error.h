// Bad usage, reported the same way for every command (docs/COMMANDS.md, "Exit status"): a bad
// flag, an unknown command, a missing or malformed value. CLI11 throws a ParseError; main()
// hands it here, and the user reads on stderr
//
//   csml: validate: unknown flag --jsn; did you mean --json?
//   Usage: csml validate [OPTIONS]
//   Run 'csml validate --help' for every flag.
//
// and the process exits 2. --help and --version are not errors: they print on stdout, exit 0.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace csml::cli {

inline constexpr int kExitUsage = 2;

// Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`.
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate `typed` most likely meant: the nearest by EditDistance when close enough for a
// typo (at most 2 edits, and fewer than half the letters), else a candidate that starts with
// `typed` when only one does; "" when none fits.
std::string NearestName(std::string_view typed, const std::vector<std::string>& candidates);

// CLI11 reads "-5" into an unsigned option as a huge number; this makes every unsigned option
// of `app` and its subcommands refuse a negative value ("--seed: expected a whole number >= 0,
// got '-5'"). Call once every command is registered.
void RefuseNegativeUnsigned(CLI::App& app);

// Writes the message for `error` (raised by root.parse) and returns the exit code.
int ReportParseError(const CLI::App& root, const CLI::ParseError& error);

}  // namespace csml::cli
