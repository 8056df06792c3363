#include "prometheus_text.h"

#include <cmath>

#include <fmt/format.h>

namespace csml::server {
namespace {

void AppendLabelValue(std::string* out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        out->push_back(c);
    }
  }
}

void AppendNameAndLabels(std::string* out, std::string_view name, PromLabels labels,
                         std::string_view extra_key = {}, std::string_view extra_value = {}) {
  out->append(name);
  if (labels.size() == 0 && extra_key.empty()) return;
  out->push_back('{');
  bool first = true;
  const auto add = [&](std::string_view key, std::string_view value) {
    if (!first) out->push_back(',');
    first = false;
    out->append(key);
    out->append("=\"");
    AppendLabelValue(out, value);
    out->push_back('"');
  };
  for (const auto& [key, value] : labels) add(key, value);
  if (!extra_key.empty()) add(extra_key, extra_value);
  out->push_back('}');
}

void AppendDouble(std::string* out, double value) {
  if (std::isnan(value)) {
    out->append("NaN");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
  } else {
    fmt::format_to(std::back_inserter(*out), "{}", value);
  }
}

}  // namespace

void AppendPromHeader(std::string* out, std::string_view name, std::string_view type,
                      std::string_view help) {
  fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void AppendPromSample(std::string* out, std::string_view name, PromLabels labels,
                      std::uint64_t value) {
  AppendNameAndLabels(out, name, labels);
  fmt::format_to(std::back_inserter(*out), " {}\n", value);
}

void AppendPromSample(std::string* out, std::string_view name, PromLabels labels, double value) {
  AppendNameAndLabels(out, name, labels);
  out->push_back(' ');
  AppendDouble(out, value);
  out->push_back('\n');
}

void AppendPromHistogram(std::string* out, std::string_view name, PromLabels labels,
                         std::span<const std::string_view> bounds,
                         std::span<const std::uint64_t> counts, double sum) {
  const std::string bucket = fmt::format("{}_bucket", name);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::string_view le = i < bounds.size() ? bounds[i] : std::string_view("+Inf");
    AppendNameAndLabels(out, bucket, labels, "le", le);
    fmt::format_to(std::back_inserter(*out), " {}\n", cumulative);
  }
  AppendPromSample(out, fmt::format("{}_sum", name), labels, sum);
  AppendPromSample(out, fmt::format("{}_count", name), labels, cumulative);
}

}  // namespace csml::server
