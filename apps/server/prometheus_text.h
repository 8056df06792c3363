// Writing the Prometheus text exposition format (version 0.0.4): family headers, samples
// with escaped label values, and histograms from per-bucket counts.
// Free functions appending to a string; thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace csml::server {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

using PromLabels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// "# HELP name help\n# TYPE name type\n"
void AppendPromHeader(std::string* out, std::string_view name, std::string_view type,
                      std::string_view help);

// "name{k="v",...} value\n"; label values escaped (\\, \", \n).
void AppendPromSample(std::string* out, std::string_view name, PromLabels labels,
                      std::uint64_t value);
void AppendPromSample(std::string* out, std::string_view name, PromLabels labels, double value);

// The _bucket (cumulative, with le="+Inf"), _sum and _count samples of one histogram.
// `counts` holds one count per bucket, the last being +Inf; `bounds` the other buckets' upper
// bounds as they should print ("0.005"). The count is the sum of the buckets.
void AppendPromHistogram(std::string* out, std::string_view name, PromLabels labels,
                         std::span<const std::string_view> bounds,
                         std::span<const std::uint64_t> counts, double sum);

}  // namespace csml::server
