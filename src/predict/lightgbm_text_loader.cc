// LoadLightgbmText: reads LightGBM's text model format (what `save_model` writes):
//
//   tree                                   <- header
//   max_feature_idx=11
//   objective=binary sigmoid:1
//   feature_names=a b c ...
//   Tree=0                                 <- one block per tree, key=value lines
//   num_leaves=31
//   split_feature=... threshold=... decision_type=... left_child=... right_child=...
//   leaf_value=... (cat_boundaries=... cat_threshold=... when num_cat > 0)
//   end of trees                           <- absent in a truncated file
//
// Splits are numbered 0..num_leaves-2, leaves 0..num_leaves-1; a child c >= 0 is split c and
// c < 0 is leaf ~c. decision_type: bit 0 categorical, bit 1 default left, bits 2-3 missing
// type (0 None, 1 Zero, 2 NaN). A numerical threshold may be inf or -inf (LightGBM writes inf
// for a split that separates missing from present values); NaN is refused.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "csml/predict/forest.h"
#include "forest_builder.h"

namespace csml {
namespace {

using predict_detail::RawKind;
using predict_detail::RawNode;

constexpr std::uint32_t kCategoricalMask = 1;
constexpr std::uint32_t kDefaultLeftMask = 2;
constexpr std::uint32_t kMissingNone = 0;
constexpr std::uint32_t kMissingZero = 1;
constexpr std::uint32_t kMissingNan = 2;

struct Line {
  std::string_view text;
  std::size_t number;  // 1-based
};

struct Field {
  std::string_view value;
  std::size_t line;
};

using Fields = std::map<std::string_view, Field, std::less<>>;

Error ParseError(std::size_t line, std::string_view context, std::string what) {
  return Error{ErrorCode::kParse, fmt::format("line {} ({}): {}", line, context, what)};
}

Error RuleError(std::size_t line, std::string_view context, std::string what) {
  return Error{ErrorCode::kValidation, fmt::format("line {} ({}): {}", line, context, what)};
}

std::vector<Line> SplitLines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t number = 1;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back({line, number++});
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::vector<std::string_view> SplitSpaces(std::string_view text) {
  std::vector<std::string_view> items;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > start) items.push_back(text.substr(start, i - start));
  }
  return items;
}

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  // LightGBM reads numbers with strtod, which takes a leading '+' ("+inf"); from_chars does not.
  if constexpr (std::is_floating_point_v<T>) {
    if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') {
      text.remove_prefix(1);
    }
  }
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

template <typename T>
Result<std::vector<T>> ParseArray(const Field& field, std::string_view context) {
  std::vector<T> values;
  const std::vector<std::string_view> items = SplitSpaces(field.value);
  values.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    T v{};
    if (!ParseNumber(items[i], &v)) {
      return tl::unexpected(
          ParseError(field.line, context,
                     fmt::format("item {} '{}' is not {}", i, items[i],
                                 std::is_integral_v<T> ? "an integer in range" : "a number")));
    }
    values.push_back(v);
  }
  return values;
}

template <typename T>
Result<T> ParseScalar(const Field& field, std::string_view context) {
  T v{};
  if (!ParseNumber(field.value, &v)) {
    return tl::unexpected(
        ParseError(field.line, context,
                   fmt::format("expected {}, got '{}'",
                               std::is_integral_v<T> ? "an integer" : "a number", field.value)));
  }
  return v;
}

// Parses "key=value" lines from lines[*pos] until a line that ends the block (empty,
// "Tree=..." or "end of trees"). Lines without '=' are flags (value empty).
Result<Fields> ReadFields(const std::vector<Line>& lines, std::size_t* pos,
                          std::string_view context) {
  Fields fields;
  for (; *pos < lines.size(); ++*pos) {
    const Line& line = lines[*pos];
    if (line.text.empty() || line.text.starts_with("Tree=") || line.text == "end of trees") break;
    const std::size_t eq = line.text.find('=');
    const std::string_view key = line.text.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : line.text.substr(eq + 1);
    if (!fields.emplace(key, Field{value, line.number}).second) {
      return tl::unexpected(
          ParseError(line.number, context, fmt::format("'{}' appears a second time", key)));
    }
  }
  return fields;
}

Result<Field> Require(const Fields& fields, std::string_view key, std::size_t block_line,
                      std::string_view context) {
  const auto it = fields.find(key);
  if (it == fields.end()) {
    return tl::unexpected(
        ParseError(block_line, context, fmt::format("missing the '{}=' line", key)));
  }
  return it->second;
}

// Reads "binary sigmoid:1" and returns the sigmoid scale.
Result<double> ParseObjective(const Field& field) {
  const std::vector<std::string_view> words = SplitSpaces(field.value);
  if (words.empty() || words[0] != "binary") {
    return tl::unexpected(RuleError(
        field.line, "objective",
        fmt::format("expected objective 'binary' (a churn probability), got '{}'", field.value)));
  }
  double sigmoid = 1.0;
  for (std::size_t i = 1; i < words.size(); ++i) {
    if (!words[i].starts_with("sigmoid:")) continue;
    if (!ParseNumber(words[i].substr(8), &sigmoid) || !std::isfinite(sigmoid) || sigmoid <= 0) {
      return tl::unexpected(
          ParseError(field.line, "objective",
                     fmt::format("expected sigmoid:<positive number>, got '{}'", words[i])));
    }
  }
  return sigmoid;
}

struct Header {
  std::vector<std::string> feature_names;
  double sigmoid = 1.0;
  std::optional<std::size_t> num_tree_sizes;
};

Result<Header> ReadHeader(const std::vector<Line>& lines, std::size_t* pos) {
  while (*pos < lines.size() && lines[*pos].text.empty()) ++*pos;
  if (*pos >= lines.size() || lines[*pos].text != "tree") {
    return tl::unexpected(
        Error{ErrorCode::kParse, "expected a LightGBM text model starting with the line 'tree'"});
  }
  const std::size_t header_line = lines[*pos].number;
  ++*pos;
  Fields fields;
  // The header is one block, but tolerate blank lines inside it: it ends at the first tree.
  while (*pos < lines.size() && !lines[*pos].text.starts_with("Tree=") &&
         lines[*pos].text != "end of trees") {
    if (lines[*pos].text.empty()) {
      ++*pos;
      continue;
    }
    CSML_ASSIGN_OR_RETURN(auto more, ReadFields(lines, pos, "header"));
    for (auto& [key, field] : more) {
      if (!fields.emplace(key, field).second) {
        return tl::unexpected(
            ParseError(field.line, "header", fmt::format("'{}' appears a second time", key)));
      }
    }
  }

  Header header;
  if (const auto it = fields.find("num_class"); it != fields.end()) {
    CSML_ASSIGN_OR_RETURN(auto n, ParseScalar<long long>(it->second, "num_class"));
    if (n != 1) {
      return tl::unexpected(
          RuleError(it->second.line, "num_class", fmt::format("expected 1 (binary), got {}", n)));
    }
  }
  if (const auto it = fields.find("num_tree_per_iteration"); it != fields.end()) {
    CSML_ASSIGN_OR_RETURN(auto n, ParseScalar<long long>(it->second, "num_tree_per_iteration"));
    if (n != 1) {
      return tl::unexpected(RuleError(it->second.line, "num_tree_per_iteration",
                                      fmt::format("expected 1 (binary), got {}", n)));
    }
  }
  if (const auto it = fields.find("average_output"); it != fields.end()) {
    return tl::unexpected(RuleError(it->second.line, "average_output",
                                    "averaged (random forest) output is not supported"));
  }
  CSML_ASSIGN_OR_RETURN(auto objective, Require(fields, "objective", header_line, "header"));
  CSML_ASSIGN_OR_RETURN(auto sigmoid, ParseObjective(objective));
  header.sigmoid = sigmoid;

  CSML_ASSIGN_OR_RETURN(auto max_idx_field,
                        Require(fields, "max_feature_idx", header_line, "header"));
  auto max_idx = ParseScalar<long long>(max_idx_field, "max_feature_idx");
  if (!max_idx) return tl::unexpected(max_idx.error());
  if (*max_idx < 0 || static_cast<std::uint64_t>(*max_idx) >= Forest::kMaxFeatures) {
    return tl::unexpected(RuleError(
        max_idx_field.line, "max_feature_idx",
        fmt::format("expected a value in [0, {}), got {}", Forest::kMaxFeatures, *max_idx)));
  }
  CSML_ASSIGN_OR_RETURN(auto names_field, Require(fields, "feature_names", header_line, "header"));
  for (const std::string_view name : SplitSpaces(names_field.value)) {
    header.feature_names.emplace_back(name);
  }
  const auto num_features = static_cast<std::size_t>(*max_idx) + 1;
  if (header.feature_names.size() != num_features) {
    return tl::unexpected(RuleError(names_field.line, "feature_names",
                                    fmt::format("expected {} names (max_feature_idx + 1), got {}",
                                                num_features, header.feature_names.size())));
  }
  if (const auto it = fields.find("tree_sizes"); it != fields.end()) {
    header.num_tree_sizes = SplitSpaces(it->second.value).size();
  }
  return header;
}

// Reads one "Tree=" block (lines[*pos] is its "Tree=" line) and adds it to builder.
Status ReadTree(const std::vector<Line>& lines, std::size_t* pos, std::size_t tree_index,
                std::size_t num_features, ForestBuilder* builder) {
  const Line& tree_line = lines[*pos];
  const std::string context = fmt::format("tree {}", tree_index);
  std::size_t declared = 0;
  if (!ParseNumber(tree_line.text.substr(5), &declared) || declared != tree_index) {
    return tl::unexpected(
        ParseError(tree_line.number, context,
                   fmt::format("expected 'Tree={}', got '{}'", tree_index, tree_line.text)));
  }
  ++*pos;
  CSML_ASSIGN_OR_RETURN(auto fields_or, ReadFields(lines, pos, context));
  const Fields& fields = fields_or;
  auto field = [&](std::string_view key) {
    return Require(fields, key, tree_line.number, context);
  };
  auto where = [&](std::string_view key) { return fmt::format("{}, {}", context, key); };

  if (const auto it = fields.find("is_linear"); it != fields.end() && it->second.value != "0") {
    return tl::unexpected(
        RuleError(it->second.line, where("is_linear"), "linear trees are not supported"));
  }
  CSML_ASSIGN_OR_RETURN(auto num_leaves_field, field("num_leaves"));
  auto num_leaves = ParseScalar<long long>(num_leaves_field, where("num_leaves"));
  if (!num_leaves) return tl::unexpected(num_leaves.error());
  long long num_cat = 0;
  if (const auto it = fields.find("num_cat"); it != fields.end()) {
    CSML_ASSIGN_OR_RETURN(auto n, ParseScalar<long long>(it->second, where("num_cat")));
    num_cat = n;
    if (num_cat < 0) {
      return tl::unexpected(RuleError(it->second.line, where("num_cat"),
                                      fmt::format("expected a count >= 0, got {}", num_cat)));
    }
  }
  CSML_ASSIGN_OR_RETURN(auto leaf_field, field("leaf_value"));
  CSML_ASSIGN_OR_RETURN(auto leaf_values, ParseArray<double>(leaf_field, where("leaf_value")));
  if (*num_leaves < 1 || static_cast<std::uint64_t>(*num_leaves) != leaf_values.size()) {
    return tl::unexpected(RuleError(
        leaf_field.line, where("leaf_value"),
        fmt::format("expected num_leaves = {} values, got {}", *num_leaves, leaf_values.size())));
  }
  const std::size_t leaves = leaf_values.size();
  const std::size_t splits = leaves - 1;

  // The split arrays; a one-leaf tree has none (LightGBM may leave them out or empty).
  std::vector<long long> split_feature, decision_type, left_child, right_child;
  std::vector<double> threshold;
  if (splits > 0) {
    auto read_ints = [&](std::string_view key, std::vector<long long>* out) -> Status {
      CSML_ASSIGN_OR_RETURN(auto f, field(key));
      auto values = ParseArray<long long>(f, where(key));
      if (!values) return tl::unexpected(values.error());
      if (values->size() != splits) {
        return tl::unexpected(RuleError(
            f.line, where(key),
            fmt::format("expected num_leaves - 1 = {} values, got {}", splits, values->size())));
      }
      *out = std::move(*values);
      return {};
    };
    for (auto [key, out] :
         {std::pair{"split_feature", &split_feature}, std::pair{"decision_type", &decision_type},
          std::pair{"left_child", &left_child}, std::pair{"right_child", &right_child}}) {
      if (Status s = read_ints(key, out); !s) return s;
    }
    CSML_ASSIGN_OR_RETURN(auto f, field("threshold"));
    auto values = ParseArray<double>(f, where("threshold"));
    if (!values) return tl::unexpected(values.error());
    if (values->size() != splits) {
      return tl::unexpected(RuleError(
          f.line, where("threshold"),
          fmt::format("expected num_leaves - 1 = {} values, got {}", splits, values->size())));
    }
    threshold = std::move(*values);
  }

  // Categorical bitsets: split t's categories are cat_threshold[cat_boundaries[t] ..
  // cat_boundaries[t + 1]), 32 per word.
  std::vector<long long> cat_boundaries;
  std::uint32_t cat_base = 0;
  if (num_cat > 0) {
    CSML_ASSIGN_OR_RETURN(auto bounds_field, field("cat_boundaries"));
    CSML_ASSIGN_OR_RETURN(auto bounds,
                          ParseArray<long long>(bounds_field, where("cat_boundaries")));
    CSML_ASSIGN_OR_RETURN(auto words_field, field("cat_threshold"));
    auto words = ParseArray<std::uint32_t>(words_field, where("cat_threshold"));
    if (!words) return tl::unexpected(words.error());
    if (bounds.size() != static_cast<std::size_t>(num_cat) + 1) {
      return tl::unexpected(RuleError(
          bounds_field.line, where("cat_boundaries"),
          fmt::format("expected num_cat + 1 = {} values, got {}", num_cat + 1, bounds.size())));
    }
    long long previous = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      const long long b = (bounds)[i];
      const bool ok = (i == 0) ? b == 0 : (b >= previous);
      if (!ok || static_cast<unsigned long long>(b) > words->size()) {
        return tl::unexpected(RuleError(
            bounds_field.line, where("cat_boundaries"),
            fmt::format("item {} = {}: expected a non-decreasing offset from 0 into the {} words "
                        "of cat_threshold",
                        i, b, words->size())));
      }
      previous = b;
    }
    if (static_cast<std::size_t>(bounds.back()) != words->size()) {
      return tl::unexpected(
          RuleError(words_field.line, where("cat_threshold"),
                    fmt::format("expected {} words (the last cat_boundaries), got {}",
                                bounds.back(), words->size())));
    }
    auto base = builder->AppendCategoryBits(*words);
    if (!base) return tl::unexpected(base.error().WithContext(context));
    cat_base = *base;
    cat_boundaries = std::move(bounds);
  }

  // Covers for TreeSHAP: the training rows that reached each node, as LightGBM's own
  // TreeSHAP counts them. Optional (the forest then cannot explain); lengths checked when
  // present. A one-leaf tree needs none.
  std::vector<double> internal_count, leaf_count;
  auto read_counts = [&](std::string_view key, std::size_t expected,
                         std::vector<double>* out) -> Status {
    const auto it = fields.find(key);
    if (it == fields.end() || expected == 0) return {};
    CSML_ASSIGN_OR_RETURN(auto values, ParseArray<double>(it->second, where(key)));
    if (values.size() != expected) {
      return tl::unexpected(
          RuleError(it->second.line, where(key),
                    fmt::format("expected {} values, got {}", expected, values.size())));
    }
    *out = std::move(values);
    return {};
  };
  if (Status s = read_counts("internal_count", splits, &internal_count); !s) return s;
  if (Status s = read_counts("leaf_count", leaves, &leaf_count); !s) return s;

  // Raw numbering for the builder: splits first (0..splits-1), then leaves.
  std::vector<RawNode> nodes(splits + leaves);
  for (std::size_t j = 0; j < leaves; ++j) {
    nodes[splits + j].kind = RawKind::kLeaf;
    nodes[splits + j].value = (leaf_values)[j];
    if (!leaf_count.empty()) {
      nodes[splits + j].cover = leaf_count[j];
    } else if (splits == 0) {
      nodes[splits + j].cover = 1.0;
    }
  }
  for (std::size_t i = 0; i < internal_count.size(); ++i) nodes[i].cover = internal_count[i];
  auto child_index = [&](long long child, std::string_view key, std::size_t i,
                         std::int64_t* out) -> Status {
    if (child >= 0 && static_cast<std::size_t>(child) < splits) {
      *out = child;
      return {};
    }
    if (child < 0 && static_cast<std::size_t>(~child) < leaves) {
      *out = static_cast<std::int64_t>(splits + static_cast<std::size_t>(~child));
      return {};
    }
    return tl::unexpected(
        RuleError(fields.at(key).line, where(key),
                  fmt::format("item {} = {}: expected a split in [0, {}) or a leaf -1..-{}", i,
                              child, splits, leaves)));
  };
  for (std::size_t i = 0; i < splits; ++i) {
    RawNode& node = nodes[i];
    const long long type = decision_type[i];
    const auto missing = static_cast<std::uint32_t>((type >> 2) & 3);
    if (type < 0 || type > 15 || missing > kMissingNan) {
      return tl::unexpected(
          RuleError(fields.at("decision_type").line, where("decision_type"),
                    fmt::format("item {} = {}: expected bits 0-1 flags and bits 2-3 a missing "
                                "type 0, 1 or 2",
                                i, type)));
    }
    if (split_feature[i] < 0 || static_cast<std::size_t>(split_feature[i]) >= num_features) {
      return tl::unexpected(
          RuleError(fields.at("split_feature").line, where("split_feature"),
                    fmt::format("item {} = {}: expected a feature index in [0, {})", i,
                                split_feature[i], num_features)));
    }
    node.feature = split_feature[i];
    if (Status s = child_index(left_child[i], "left_child", i, &node.left); !s) return s;
    if (Status s = child_index(right_child[i], "right_child", i, &node.right); !s) return s;
    const bool default_left = (static_cast<std::uint32_t>(type) & kDefaultLeftMask) != 0;
    const double t = threshold[i];
    if (static_cast<std::uint32_t>(type) & kCategoricalMask) {
      // The threshold names the bitset: an index into cat_boundaries.
      if (!(t >= 0) || t >= static_cast<double>(num_cat) || t != std::floor(t)) {
        return tl::unexpected(RuleError(
            fields.at("threshold").line, where("threshold"),
            fmt::format("item {} = {}: a categorical split needs a bitset index in [0, {})", i, t,
                        num_cat)));
      }
      const auto cat = static_cast<std::size_t>(t);
      node.kind = RawKind::kCategorical;
      node.cat_first_word = cat_base + static_cast<std::uint32_t>(cat_boundaries[cat]);
      node.cat_num_words =
          static_cast<std::uint32_t>(cat_boundaries[cat + 1] - cat_boundaries[cat]);
      continue;
    }
    // LightGBM writes +inf (and -inf) itself, e.g. for a split that only separates missing
    // from present values; `x <= t` gives them their meaning, as in LightGBM. A NaN threshold
    // sends every present value right and cannot come from training: refused.
    if (std::isnan(t)) {
      return tl::unexpected(RuleError(
          fields.at("threshold").line, where("threshold"),
          fmt::format("item {} = nan: a numerical split needs a number (inf and -inf are allowed)",
                      i)));
    }
    node.value = t;
    switch (missing) {
      case kMissingNone:
        // LightGBM reads NaN as 0.0 here, so NaN goes where 0.0 goes.
        node.kind = RawKind::kNumeric;
        node.nan_left = 0.0 <= t;
        break;
      case kMissingZero:
        node.kind = RawKind::kZeroAsMissing;
        node.nan_left = default_left;
        break;
      default:
        node.kind = RawKind::kNumeric;
        node.nan_left = default_left;
        break;
    }
  }
  for (std::size_t j = 0; j < leaves; ++j) {
    if (!std::isfinite((leaf_values)[j])) {
      return tl::unexpected(
          RuleError(leaf_field.line, where("leaf_value"),
                    fmt::format("item {} = {} is not finite", j, (leaf_values)[j])));
    }
  }
  auto namer = [splits](std::size_t raw) {
    return raw < splits ? fmt::format("split {}", raw) : fmt::format("leaf {}", raw - splits);
  };
  return builder->AddTree(nodes, /*allowed_unreachable=*/0,
                          fmt::format("line {} ({})", tree_line.number, context), namer);
}

}  // namespace

Result<Forest> LoadLightgbmText(std::string_view text) {
  const std::vector<Line> lines = SplitLines(text);
  std::size_t pos = 0;
  auto header = ReadHeader(lines, &pos);
  if (!header) return tl::unexpected(header.error());
  const std::size_t num_features = header->feature_names.size();
  ForestBuilder builder(ForestFormat::kLightgbmText, std::move(header->feature_names));
  builder.set_sigmoid_scale(header->sigmoid);

  std::size_t num_trees = 0;
  bool ended = false;
  while (pos < lines.size()) {
    const Line& line = lines[pos];
    if (line.text.empty()) {
      ++pos;
      continue;
    }
    if (line.text == "end of trees") {
      ended = true;
      break;
    }
    if (!line.text.starts_with("Tree=")) {
      return tl::unexpected(ParseError(
          line.number, "trees",
          fmt::format("expected 'Tree=<n>' or 'end of trees', got '{}'", line.text.substr(0, 40))));
    }
    if (Status s = ReadTree(lines, &pos, num_trees, num_features, &builder); !s) {
      return tl::unexpected(s.error());
    }
    ++num_trees;
  }
  const std::size_t last_line = lines.empty() ? 0 : lines.back().number;
  if (!ended) {
    return tl::unexpected(
        ParseError(last_line, "trees",
                   fmt::format("the file ends after {} trees without 'end of trees' (truncated?)",
                               num_trees)));
  }
  if (header->num_tree_sizes && *header->num_tree_sizes != num_trees) {
    return tl::unexpected(Error{ErrorCode::kValidation,
                                fmt::format("header tree_sizes lists {} trees but the file has {}",
                                            *header->num_tree_sizes, num_trees)});
  }
  return std::move(builder).Build();
}

}  // namespace csml
