// The only file in csml that includes the XGBoost C API (see xgboost_booster.h).
#include "csml/model/xgboost_booster.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>

#include <fmt/format.h>
#include <simdjson.h>
#include <xgboost/c_api.h>

#include "csml/ensemble/xgboost_json.h"

namespace csml {
namespace {

// XGBoost's last error without its clock prefix ("[05:45:02] ") and stack trace, which say
// nothing to the person reading the message.
std::string CleanLastError() {
  const char* last = XGBGetLastError();
  std::string_view text = (last != nullptr) ? std::string_view(last) : std::string_view();
  if (text.size() > 11 && text[0] == '[' && text[9] == ']' && text[10] == ' ')
    text.remove_prefix(11);
  if (const std::size_t trace = text.find("\nStack trace:"); trace != std::string_view::npos) {
    text = text.substr(0, trace);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return text.empty() ? std::string("(no message)") : std::string(text);
}

// The one check every C API call goes through: XGBoost returns 0 on success and keeps the
// reason of a failure in a thread-local "last error".
tl::unexpected<Error> LastXgboostError(std::string_view call) {
  return MakeError(ErrorCode::kModel, fmt::format("XGBoost {} failed: {}", call, CleanLastError()));
}

// Calls an XGBoost C function and returns LastXgboostError from the enclosing function when it
// fails. A macro only so the function's name appears in the message once, as written.
#define CSML_XGB_CALL(fn, ...)                              \
  do {                                                      \
    if (fn(__VA_ARGS__) != 0) return LastXgboostError(#fn); \
  } while (false)

struct DMatrixFree {
  void operator()(void* handle) const {
    if (handle != nullptr) XGDMatrixFree(handle);
  }
};
struct BoosterFree {
  void operator()(void* handle) const {
    if (handle != nullptr) XGBoosterFree(handle);
  }
};
using DMatrixPtr = std::unique_ptr<void, DMatrixFree>;
using BoosterPtr = std::unique_ptr<void, BoosterFree>;

constexpr std::string_view kValidationName = "valid";

// In-place prediction settings, fixed for csml: probabilities (type 0) from every tree,
// NaN as missing. cache_id must be 0 in XGBoost 1.7.
constexpr char kPredictConfig[] =
    R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,)"
    R"("strict_shape":false,"cache_id":0,"missing":NaN})";

// Contributions (type 2: exact path-dependent TreeSHAP) from every tree.
constexpr char kContribsConfig[] =
    R"({"type":2,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false})";

std::string FormatParam(double value) { return fmt::format("{}", value); }

bool IsSupportedMetric(std::string_view metric) {
  return std::find(std::begin(kSupportedEvalMetrics), std::end(kSupportedEvalMetrics), metric) !=
         std::end(kSupportedEvalMetrics);
}

Status CheckNames(std::span<const std::string> names, std::size_t cols, std::string_view what) {
  if (names.empty()) return {};
  if (names.size() != cols) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: expected {} column names, got {}", what, cols, names.size()));
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}: column name {} is empty", what, i));
    }
  }
  return {};
}

Result<DMatrixPtr> MakeDMatrix(const LabeledMatrix& data, int threads) {
  const DenseMatrix& m = data.features;
  void* raw = nullptr;
  CSML_XGB_CALL(XGDMatrixCreateFromMat_omp, m.values.data(), m.rows, m.cols,
                std::numeric_limits<float>::quiet_NaN(), &raw, threads);
  DMatrixPtr matrix(raw);
  CSML_XGB_CALL(XGDMatrixSetFloatInfo, matrix.get(), "label", data.labels.data(),
                data.labels.size());
  if (!m.column_names.empty()) {
    std::vector<const char*> names;
    names.reserve(m.column_names.size());
    for (const std::string& n : m.column_names) names.push_back(n.c_str());
    CSML_XGB_CALL(XGDMatrixSetStrFeatureInfo, matrix.get(), "feature_name", names.data(),
                  names.size());
  }
  return matrix;
}

// Parses XGBoost's evaluation line "[3]\tvalid-auc:0.91\tvalid-logloss:0.42".
Result<std::map<std::string, double>> ParseEvalLine(std::string_view line) {
  std::map<std::string, double> out;
  const std::string prefix = std::string(kValidationName) + "-";
  std::size_t pos = line.find('\t');
  while (pos != std::string_view::npos) {
    const std::size_t start = pos + 1;
    pos = line.find('\t', start);
    const std::string_view item =
        line.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start);
    const std::size_t colon = item.rfind(':');
    if (colon == std::string_view::npos || !item.starts_with(prefix)) {
      return MakeError(
          ErrorCode::kModel,
          fmt::format("XGBoost evaluation: expected '{}<metric>:<value>', got '{}'", prefix, item));
    }
    const std::string_view name = item.substr(prefix.size(), colon - prefix.size());
    const std::string_view text = item.substr(colon + 1);
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return MakeError(
          ErrorCode::kModel,
          fmt::format("XGBoost evaluation: expected a number for '{}', got '{}'", name, text));
    }
    out[std::string(name)] = value;
  }
  return out;
}

}  // namespace

struct XgboostBooster::Handles {
  BoosterPtr booster;
  DMatrixPtr train;       // null for a loaded or sliced booster
  DMatrixPtr validation;  // null when there is none
  std::vector<std::string> eval_metrics;
  std::size_t num_features = 0;
};

Status BoosterParams::Validate() const {
  auto bad = [](std::string_view field, std::string_view expected, auto got) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("BoosterParams.{}: expected {}, got {}", field, expected, got));
  };
  if (max_leaves < 0) return bad("max_leaves", "an integer >= 0", max_leaves);
  if (max_depth < 0) return bad("max_depth", "an integer >= 0", max_depth);
  if (!(eta > 0.0 && eta <= 1.0)) return bad("eta", "a number in (0, 1]", eta);
  if (tree_method != "hist" && tree_method != "approx" && tree_method != "exact") {
    return bad("tree_method", "hist, approx or exact", fmt::format("'{}'", tree_method));
  }
  if (grow_policy != "lossguide" && grow_policy != "depthwise") {
    return bad("grow_policy", "lossguide or depthwise", fmt::format("'{}'", grow_policy));
  }
  if (grow_policy == "lossguide" && tree_method == "exact") {
    return bad("grow_policy", "depthwise with tree_method exact", "'lossguide'");
  }
  if (grow_policy == "lossguide" && max_leaves == 0 && max_depth == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "BoosterParams: expected max_leaves > 0 or max_depth > 0 with grow_policy "
                     "lossguide, got both 0 (trees without a size limit)");
  }
  if (grow_policy == "depthwise" && max_depth == 0) {
    return bad("max_depth", "an integer > 0 with grow_policy depthwise", max_depth);
  }
  if (!(min_child_weight >= 0.0) || !std::isfinite(min_child_weight)) {
    return bad("min_child_weight", "a finite number >= 0", min_child_weight);
  }
  if (!(subsample > 0.0 && subsample <= 1.0))
    return bad("subsample", "a number in (0, 1]", subsample);
  if (!(colsample_bytree > 0.0 && colsample_bytree <= 1.0)) {
    return bad("colsample_bytree", "a number in (0, 1]", colsample_bytree);
  }
  if (!(lambda >= 0.0) || !std::isfinite(lambda))
    return bad("lambda", "a finite number >= 0", lambda);
  if (!(alpha >= 0.0) || !std::isfinite(alpha)) return bad("alpha", "a finite number >= 0", alpha);
  if (!(scale_pos_weight > 0.0) || !std::isfinite(scale_pos_weight)) {
    return bad("scale_pos_weight", "a finite number > 0", scale_pos_weight);
  }
  for (const int c : monotone_constraints) {
    if (c < -1 || c > 1) return bad("monotone_constraints", "-1, 0 or +1 per column", c);
  }
  if (max_bin < 2) return bad("max_bin", "an integer >= 2", max_bin);
  if (seed > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return bad("seed", "an integer <= 9223372036854775807", seed);
  }
  if (threads < 0) return bad("threads", "an integer >= 0 (0 = all cores)", threads);
  if (eval_metrics.empty()) return bad("eval_metrics", "at least one metric", "none");
  for (const std::string& m : eval_metrics) {
    if (!IsSupportedMetric(m)) {
      return bad("eval_metrics", "auc, logloss, error or aucpr", fmt::format("'{}'", m));
    }
  }
  return {};
}

XgboostBooster::XgboostBooster(std::unique_ptr<Handles> handles) : handles_(std::move(handles)) {}
XgboostBooster::XgboostBooster(XgboostBooster&&) noexcept = default;
XgboostBooster& XgboostBooster::operator=(XgboostBooster&&) noexcept = default;
XgboostBooster::~XgboostBooster() = default;

Result<XgboostBooster> XgboostBooster::Create(const BoosterParams& params,
                                              const LabeledMatrix& train,
                                              const LabeledMatrix* validation) {
  CSML_TRY(params.Validate());
  if (auto s = train.Validate(); !s) return tl::unexpected(s.error().WithContext("training data"));
  CSML_TRY(CheckNames(train.features.column_names, train.features.cols, "training data"));
  if (validation != nullptr) {
    if (auto s = validation->Validate(); !s) {
      return tl::unexpected(s.error().WithContext("validation data"));
    }
    if (validation->features.cols != train.features.cols) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("validation data: expected {} columns as in the training "
                                   "data, got {}",
                                   train.features.cols, validation->features.cols));
    }
    if (!validation->features.column_names.empty() &&
        validation->features.column_names != train.features.column_names) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "validation data: expected the training data's column names");
    }
  }

  auto handles = std::make_unique<Handles>();
  handles->eval_metrics = params.eval_metrics;
  handles->num_features = train.features.cols;
  CSML_ASSIGN_OR_RETURN(auto dtrain, MakeDMatrix(train, params.threads));
  handles->train = std::move(dtrain);
  LabeledMatrix named_validation;
  if (validation != nullptr) {
    // Both matrices must carry the same names, or XGBoost refuses to evaluate.
    const LabeledMatrix* v = validation;
    if (validation->features.column_names.empty() && !train.features.column_names.empty()) {
      named_validation = *validation;
      named_validation.features.column_names = train.features.column_names;
      v = &named_validation;
    }
    CSML_ASSIGN_OR_RETURN(auto dvalid, MakeDMatrix(*v, params.threads));
    handles->validation = std::move(dvalid);
  }

  std::array<void*, 2> cached = {handles->train.get(), handles->validation.get()};
  void* raw = nullptr;
  CSML_XGB_CALL(XGBoosterCreate, cached.data(), handles->validation ? 2u : 1u, &raw);
  handles->booster.reset(raw);

  const std::array<std::pair<const char*, std::string>, 15> settings = {{
      {"objective", "binary:logistic"},
      {"verbosity", "0"},
      {"eta", FormatParam(params.eta)},
      {"max_leaves", std::to_string(params.max_leaves)},
      {"max_depth", std::to_string(params.max_depth)},
      {"tree_method", params.tree_method},
      {"grow_policy", params.grow_policy},
      {"min_child_weight", FormatParam(params.min_child_weight)},
      {"subsample", FormatParam(params.subsample)},
      {"colsample_bytree", FormatParam(params.colsample_bytree)},
      {"lambda", FormatParam(params.lambda)},
      {"max_bin", std::to_string(params.max_bin)},
      {"seed", std::to_string(params.seed)},
      {"nthread", std::to_string(params.threads)},
      {"validate_parameters", "1"},
  }};
  for (const auto& [name, value] : settings) {
    CSML_XGB_CALL(XGBoosterSetParam, handles->booster.get(), name, value.c_str());
  }
  // Set only when they differ from XGBoost's defaults, so a model trained without them is
  // the same bytes as before they existed.
  if (params.alpha != 0.0) {
    CSML_XGB_CALL(XGBoosterSetParam, handles->booster.get(), "alpha",
                  FormatParam(params.alpha).c_str());
  }
  if (params.scale_pos_weight != 1.0) {
    CSML_XGB_CALL(XGBoosterSetParam, handles->booster.get(), "scale_pos_weight",
                  FormatParam(params.scale_pos_weight).c_str());
  }
  if (!params.monotone_constraints.empty()) {
    if (params.monotone_constraints.size() != train.features.cols) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("BoosterParams.monotone_constraints: expected {} entries (one "
                                   "per column), got {}",
                                   train.features.cols, params.monotone_constraints.size()));
    }
    std::string text = "(";
    for (std::size_t i = 0; i < params.monotone_constraints.size(); ++i) {
      text += fmt::format("{}{}", i == 0 ? "" : ",", params.monotone_constraints[i]);
    }
    text += ")";
    CSML_XGB_CALL(XGBoosterSetParam, handles->booster.get(), "monotone_constraints", text.c_str());
  }
  for (const std::string& metric : params.eval_metrics) {
    CSML_XGB_CALL(XGBoosterSetParam, handles->booster.get(), "eval_metric", metric.c_str());
  }
  XgboostBooster booster(std::move(handles));
  if (!train.features.column_names.empty()) {
    CSML_TRY(booster.SetFeatureNames(train.features.column_names));
  }
  return booster;
}

Result<XgboostBooster> XgboostBooster::LoadJson(std::string_view model_json) {
  const std::size_t first = model_json.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || model_json[first] != '{') {
    return MakeError(
        ErrorCode::kParse,
        "XGBoost model: expected JSON text starting with '{', got " +
            (first == std::string_view::npos ? std::string("empty text")
                                             : fmt::format("'{}'", model_json.substr(first, 16))));
  }
  // XGBoost trusts the tree arrays it loads: check them first (csml/ensemble/xgboost_json.h).
  CSML_TRY(ReadXgboostJson(model_json));
  auto handles = std::make_unique<Handles>();
  void* raw = nullptr;
  CSML_XGB_CALL(XGBoosterCreate, nullptr, 0, &raw);
  handles->booster.reset(raw);
  if (XGBoosterLoadModelFromBuffer(handles->booster.get(), model_json.data(), model_json.size()) !=
      0) {
    return MakeError(ErrorCode::kParse,
                     fmt::format("XGBoost model: expected an XGBoost JSON model, XGBoost says: {}",
                                 CleanLastError()));
  }
  CSML_XGB_CALL(XGBoosterSetParam, handles->booster.get(), "verbosity", "0");
  bst_ulong num_features = 0;
  CSML_XGB_CALL(XGBoosterGetNumFeature, handles->booster.get(), &num_features);
  handles->num_features = static_cast<std::size_t>(num_features);
  return XgboostBooster(std::move(handles));
}

Status XgboostBooster::UpdateOneIteration(int iteration) {
  if (!handles_->train) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "XgboostBooster: this booster was loaded or sliced and cannot train");
  }
  CSML_ASSIGN_OR_RETURN(auto rounds, NumBoostedRounds());
  if (iteration != rounds) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("XgboostBooster: expected iteration {} (the next round), got {}",
                                 rounds, iteration));
  }
  CSML_XGB_CALL(XGBoosterUpdateOneIter, handles_->booster.get(), iteration, handles_->train.get());
  return {};
}

bool XgboostBooster::has_validation() const { return handles_->validation != nullptr; }

Result<std::map<std::string, double>> XgboostBooster::EvaluateValidation() {
  if (!handles_->validation) {
    return MakeError(ErrorCode::kInvalidArgument, "XgboostBooster: no validation data to evaluate");
  }
  CSML_ASSIGN_OR_RETURN(auto rounds, NumBoostedRounds());
  std::array<void*, 1> dmats = {handles_->validation.get()};
  std::array<const char*, 1> names = {kValidationName.data()};
  const char* line = nullptr;
  CSML_XGB_CALL(XGBoosterEvalOneIter, handles_->booster.get(), rounds, dmats.data(), names.data(),
                1, &line);
  return ParseEvalLine(line == nullptr ? std::string_view() : std::string_view(line));
}

Result<double> XgboostBooster::EvaluateValidation(std::string_view metric) {
  CSML_ASSIGN_OR_RETURN(auto all, EvaluateValidation());
  const auto it = all.find(std::string(metric));
  if (it == all.end()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("XgboostBooster: metric '{}' is not among the booster's "
                                 "eval_metrics",
                                 metric));
  }
  return it->second;
}

Result<XgboostBooster> XgboostBooster::Slice(int begin_round, int end_round) const {
  auto rounds = NumBoostedRounds();
  if (!rounds) return tl::unexpected(rounds.error());
  if (begin_round < 0 || begin_round >= end_round || end_round > *rounds) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("XgboostBooster::Slice: expected 0 <= begin < end <= {}, got "
                                 "[{}, {})",
                                 *rounds, begin_round, end_round));
  }
  CSML_ASSIGN_OR_RETURN(auto names, FeatureNames());
  auto handles = std::make_unique<Handles>();
  handles->eval_metrics = handles_->eval_metrics;
  handles->num_features = handles_->num_features;
  void* raw = nullptr;
  CSML_XGB_CALL(XGBoosterSlice, handles_->booster.get(), begin_round, end_round, 1, &raw);
  handles->booster.reset(raw);
  XgboostBooster slice(std::move(handles));
  if (!names.empty()) {
    CSML_TRY(slice.SetFeatureNames(names));
  }
  return slice;
}

Result<int> XgboostBooster::NumBoostedRounds() const {
  int rounds = 0;
  CSML_XGB_CALL(XGBoosterBoostedRounds, handles_->booster.get(), &rounds);
  return rounds;
}

std::size_t XgboostBooster::num_features() const { return handles_->num_features; }

Result<std::string> XgboostBooster::Objective() const {
  bst_ulong len = 0;
  const char* text = nullptr;
  CSML_XGB_CALL(XGBoosterSaveJsonConfig, handles_->booster.get(), &len, &text);
  const simdjson::padded_string config(text, static_cast<std::size_t>(len));
  simdjson::dom::parser parser;
  std::string_view name;
  const auto error = parser.parse(config)["learner"]["objective"]["name"].get(name);
  if (error != simdjson::SUCCESS) {
    return MakeError(ErrorCode::kModel,
                     fmt::format("XGBoost configuration: expected learner.objective.name, got "
                                 "{}",
                                 simdjson::error_message(error)));
  }
  return std::string(name);
}

Status XgboostBooster::SetFeatureNames(std::span<const std::string> names) {
  if (auto s = CheckNames(names, handles_->num_features, "feature names"); !s) return s;
  std::vector<const char*> c_names;
  c_names.reserve(names.size());
  for (const std::string& n : names) c_names.push_back(n.c_str());
  CSML_XGB_CALL(XGBoosterSetStrFeatureInfo, handles_->booster.get(), "feature_name", c_names.data(),
                c_names.size());
  return {};
}

Result<std::vector<std::string>> XgboostBooster::FeatureNames() const {
  bst_ulong len = 0;
  const char** names = nullptr;
  CSML_XGB_CALL(XGBoosterGetStrFeatureInfo, handles_->booster.get(), "feature_name", &len, &names);
  std::vector<std::string> out;
  out.reserve(len);
  for (bst_ulong i = 0; i < len; ++i) out.emplace_back(names[i]);
  return out;
}

Status XgboostBooster::SetThreads(int threads) {
  if (threads < 0) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("threads: expected an integer >= 0 (0 = all cores), got {}", threads));
  }
  CSML_XGB_CALL(XGBoosterSetParam, handles_->booster.get(), "nthread",
                std::to_string(threads).c_str());
  return {};
}

Result<std::string> XgboostBooster::SaveJson() const {
  bst_ulong len = 0;
  const char* bytes = nullptr;
  CSML_XGB_CALL(XGBoosterSaveModelToBuffer, handles_->booster.get(), R"({"format":"json"})", &len,
                &bytes);
  return std::string(bytes, static_cast<std::size_t>(len));
}

Result<std::vector<std::pair<std::string, double>>> XgboostBooster::FeatureImportanceGain() const {
  bst_ulong n_features = 0;
  const char** features = nullptr;
  bst_ulong dim = 0;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  CSML_XGB_CALL(XGBoosterFeatureScore, handles_->booster.get(),
                R"({"importance_type":"total_gain"})", &n_features, &features, &dim, &shape,
                &scores);
  std::vector<std::pair<std::string, double>> out;
  out.reserve(n_features);
  for (bst_ulong i = 0; i < n_features; ++i) out.emplace_back(features[i], scores[i]);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return out;
}

Status XgboostBooster::PredictDense(std::span<const double> rows, std::size_t cols,
                                    std::span<double> out) const {
  if (cols != handles_->num_features || cols == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("prediction: expected rows of {} columns, got {}",
                                 handles_->num_features, cols));
  }
  if (rows.size() % cols != 0) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("prediction: expected a multiple of {} values, got {}", cols, rows.size()));
  }
  const std::size_t n_rows = rows.size() / cols;
  if (out.size() != n_rows) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("prediction: expected room for {} results, got {}", n_rows, out.size()));
  }
  if (n_rows == 0) return {};
  // numpy's __array_interface__ (version 3) describing the caller's doubles, read-only.
  std::array<char, 160> array_interface{};
  const auto written =
      fmt::format_to_n(array_interface.data(), array_interface.size() - 1,
                       R"({{"data":[{},true],"shape":[{},{}],"typestr":"<f8","version":3}})",
                       reinterpret_cast<std::uintptr_t>(rows.data()), n_rows, cols);
  if (written.size >= array_interface.size()) {
    return MakeError(ErrorCode::kInternal, "prediction: array interface text overflowed");
  }
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  CSML_XGB_CALL(XGBoosterPredictFromDense, handles_->booster.get(), array_interface.data(),
                kPredictConfig, nullptr, &shape, &dim, &result);
  std::size_t total = 1;
  for (bst_ulong d = 0; d < dim; ++d) total *= static_cast<std::size_t>(shape[d]);
  if (total != n_rows) {
    return MakeError(ErrorCode::kModel,
                     fmt::format("prediction: expected one output per row ({}), got {} (is this "
                                 "a multi-output model?)",
                                 n_rows, total));
  }
  std::copy(result, result + n_rows, out.begin());
  return {};
}

Status XgboostBooster::PredictContributions(std::span<const double> rows, std::size_t cols,
                                            std::span<double> out) const {
  if (cols != handles_->num_features || cols == 0 || rows.size() % cols != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("contributions: expected rows of {} columns, got {} values "
                                 "for {} columns",
                                 handles_->num_features, rows.size(), cols));
  }
  const std::size_t n_rows = rows.size() / cols;
  if (out.size() != n_rows * (cols + 1)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("contributions: expected room for {} values, got {}",
                                 n_rows * (cols + 1), out.size()));
  }
  if (n_rows == 0) return {};
  const std::vector<float> values(rows.begin(), rows.end());
  void* raw = nullptr;
  CSML_XGB_CALL(XGDMatrixCreateFromMat, values.data(), n_rows, cols,
                std::numeric_limits<float>::quiet_NaN(), &raw);
  const DMatrixPtr matrix(raw);
  CSML_ASSIGN_OR_RETURN(const std::vector<std::string> names, FeatureNames());
  if (!names.empty()) {
    std::vector<const char*> c_names;
    c_names.reserve(names.size());
    for (const std::string& n : names) c_names.push_back(n.c_str());
    CSML_XGB_CALL(XGDMatrixSetStrFeatureInfo, matrix.get(), "feature_name", c_names.data(),
                  c_names.size());
  }
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  CSML_XGB_CALL(XGBoosterPredictFromDMatrix, handles_->booster.get(), matrix.get(), kContribsConfig,
                &shape, &dim, &result);
  std::size_t total = 1;
  for (bst_ulong d = 0; d < dim; ++d) total *= static_cast<std::size_t>(shape[d]);
  if (total != out.size()) {
    return MakeError(ErrorCode::kModel,
                     fmt::format("contributions: expected {} values, got {}", out.size(), total));
  }
  std::copy(result, result + total, out.begin());
  return {};
}

}  // namespace csml
