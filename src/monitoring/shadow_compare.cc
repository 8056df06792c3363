#include "csml/monitoring/shadow_compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "csml/core/number_format.h"
#include "csml/evaluation/metrics.h"
#include "csml/monitoring/prediction_log_reader.h"

namespace csml {
namespace {

constexpr std::size_t kTiers = 3;
constexpr std::uint32_t kNone = UINT32_MAX;

// One record as the join needs it (32 bytes).
struct Row {
  std::uint64_t key = 0;  // hash of (request_id, batch_index)
  std::int64_t unix_ms = 0;
  std::uint32_t user = 0;
  std::uint16_t risk = 0;  // in 1e-4, as the log holds it
  std::uint16_t version = 0;
  std::uint8_t tier = 0;
};
static_assert(sizeof(Row) == 32);

// An answer and its shadow (24 bytes).
struct Pair {
  std::int64_t unix_ms = 0;  // the answer's
  std::uint32_t user = 0;
  std::uint32_t group = 0;
  std::uint16_t answered_risk = 0;
  std::uint16_t shadow_risk = 0;
  std::uint8_t answered_tier = 0;
  std::uint8_t shadow_tier = 0;
};

// One snapshot's outcome, as the monitor keeps it.
struct Outcome {
  UnixSeconds snapshot_ts = 0;
  UnixSeconds label_ts = 0;
  std::uint32_t user = 0;
  std::int8_t label = -1;  // -1: not labeled
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

std::uint64_t Mix(std::uint64_t h) {  // splitmix64's finalizer
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::uint64_t KeyOf(std::string_view request_id, std::int32_t batch_index) {
  const std::uint64_t h = std::hash<std::string_view>{}(request_id);
  return Mix(h ^ Mix(static_cast<std::uint64_t>(static_cast<std::uint32_t>(batch_index)) +
                     0x9e3779b97f4a7c15ULL));
}

UnixSeconds Seconds(std::int64_t unix_ms) {
  UnixSeconds s = unix_ms / 1000;
  if (unix_ms % 1000 < 0) --s;
  return s;
}

double Risk(std::uint16_t r) { return static_cast<double>(r) / 1e4; }

double Ratio(double a, double b) { return b > 0 ? a / b : kMonitorNaN; }

// Mean ranks (1-based) of v, ties sharing their mean.
std::vector<double> Ranks(const std::vector<double>& v) {
  std::vector<std::uint32_t> order(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t a, std::uint32_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  std::size_t i = 0;
  while (i < order.size()) {
    std::size_t j = i + 1;
    while (j < order.size() && v[order[j]] == v[order[i]]) ++j;
    const double mean = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (std::size_t k = i; k < j; ++k) ranks[order[k]] = mean;
    i = j;
  }
  return ranks;
}

// The risk at the top decile's cut: the ceil(n / 10)-th highest.
std::uint16_t TopDecileCut(std::vector<std::uint16_t> risks) {
  const std::size_t k = (risks.size() + 9) / 10;
  std::nth_element(risks.begin(), risks.begin() + static_cast<std::ptrdiff_t>(k - 1), risks.end(),
                   std::greater<>());
  return risks[k - 1];
}

CompareOutcomeFigures OutcomeFigures(const std::vector<double>& scores,
                                     const std::vector<float>& labels) {
  CompareOutcomeFigures f;
  if (scores.empty()) return f;
  double sum = 0;
  for (const double s : scores) sum += s;
  f.mean_risk = sum / static_cast<double>(scores.size());
  if (auto auc = RocAuc(scores, labels); auc) f.auc = *auc;
  if (auto ece = ExpectedCalibrationError(scores, labels, 10); ece) f.calibration_error = *ece;
  return f;
}

}  // namespace

double SpearmanCorrelation(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return kMonitorNaN;
  const std::vector<double> rx = Ranks(x);
  const std::vector<double> ry = Ranks(y);
  const double mean = (static_cast<double>(x.size()) + 1) / 2;  // of either side's ranks
  double sxy = 0;
  double sxx = 0;
  double syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double dx = rx[i] - mean;
    const double dy = ry[i] - mean;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0 || syy == 0) return kMonitorNaN;
  return sxy / std::sqrt(sxx * syy);
}

struct ShadowCompareBuilder::Impl {
  MonitorOptions options;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> users;
  std::vector<const std::string*> user_names;  // the map's keys (nodes do not move)
  std::unordered_map<std::string, std::uint16_t, StringHash, std::equal_to<>> version_ids;
  std::vector<std::string> versions;
  std::vector<Outcome> outcomes;
  std::vector<Row> answers;
  std::vector<Row> shadows;
  bool too_many_versions = false;

  std::uint32_t Intern(std::string_view user) {
    if (auto it = users.find(user); it != users.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(users.size());
    auto [it, inserted] = users.emplace(std::string(user), id);
    user_names.push_back(&it->first);
    return id;
  }

  std::uint16_t Version(std::string_view name) {
    if (auto it = version_ids.find(name); it != version_ids.end()) return it->second;
    if (versions.size() >= UINT16_MAX) {
      too_many_versions = true;
      return 0;
    }
    const auto id = static_cast<std::uint16_t>(versions.size());
    versions.emplace_back(name);
    version_ids.emplace(std::string(name), id);
    return id;
  }

  void Add(const PredictionRecord& record) {
    Row row;
    row.key = KeyOf(record.request_id, record.batch_index);
    row.unix_ms = record.unix_ms;
    row.user = Intern(record.user_id);
    row.risk = static_cast<std::uint16_t>(std::lround(std::clamp(record.risk, 0.0, 1.0) * 1e4));
    row.version = Version(record.model_version);
    row.tier = static_cast<std::uint8_t>(record.tier);
    (IsAnswer(record.role) ? answers : shadows).push_back(row);
  }

  // The hash join: a table over the shadows (the smaller side as served), probed by every
  // answer. Chained per key: a reused request id still pairs each shadow once.
  std::vector<Pair> Join(std::map<std::pair<std::uint16_t, std::uint16_t>, std::uint32_t>* groups) {
    std::unordered_map<std::uint64_t, std::uint32_t> head;
    head.reserve(shadows.size());
    std::vector<std::uint32_t> next(shadows.size(), kNone);
    for (std::uint32_t i = 0; i < shadows.size(); ++i) {
      auto [it, inserted] = head.try_emplace(shadows[i].key, i);
      if (!inserted) {
        next[i] = it->second;
        it->second = i;
      }
    }
    // Each shadow takes the answer of its key and user nearest to it in time.
    std::vector<std::uint32_t> best(shadows.size(), kNone);
    std::vector<std::int64_t> best_gap(shadows.size(), std::numeric_limits<std::int64_t>::max());
    for (std::uint32_t i = 0; i < answers.size(); ++i) {
      const Row& a = answers[i];
      auto it = head.find(a.key);
      if (it == head.end()) continue;
      for (std::uint32_t s = it->second; s != kNone; s = next[s]) {
        if (shadows[s].user != a.user) continue;
        const std::int64_t gap = std::abs(shadows[s].unix_ms - a.unix_ms);
        if (gap < best_gap[s]) {
          best_gap[s] = gap;
          best[s] = i;
        }
      }
    }
    std::vector<Pair> pairs;
    pairs.reserve(shadows.size());
    for (std::uint32_t i = 0; i < shadows.size(); ++i) {
      if (best[i] == kNone) continue;
      const Row& a = answers[best[i]];
      const Row& s = shadows[i];
      auto [g, inserted] =
          groups->try_emplace({a.version, s.version}, static_cast<std::uint32_t>(groups->size()));
      pairs.push_back({a.unix_ms, a.user, g->second, a.risk, s.risk, a.tier, s.tier});
    }
    return pairs;
  }

  // The outcome of a pair at its time: the user's latest snapshot at or before it within the
  // match window, or null.
  const Outcome* Match(const std::vector<std::uint32_t>& user_begin, const Pair& p) const {
    if (p.user + 1 >= user_begin.size()) return nullptr;
    const auto begin = outcomes.begin() + user_begin[p.user];
    const auto end = outcomes.begin() + user_begin[p.user + 1];
    const UnixSeconds t = Seconds(p.unix_ms);
    auto after = std::upper_bound(
        begin, end, t, [](UnixSeconds ts, const Outcome& o) { return ts < o.snapshot_ts; });
    if (after == begin) return nullptr;
    const Outcome& o = *(after - 1);
    return t - o.snapshot_ts <= options.match_window ? &o : nullptr;
  }

  void Figures(const Pair* begin, const Pair* end, const std::vector<std::uint32_t>& user_begin,
               ShadowComparison* c) const {
    const std::size_t n = static_cast<std::size_t>(end - begin);
    c->pairs = n;
    std::vector<double> ax;
    std::vector<double> sx;
    std::vector<std::uint16_t> ar;
    std::vector<std::uint16_t> sr;
    ax.reserve(n);
    sx.reserve(n);
    ar.reserve(n);
    sr.reserve(n);
    for (const Pair* p = begin; p != end; ++p) {
      ++c->tiers[p->answered_tier][p->shadow_tier];
      if (p->answered_tier != p->shadow_tier) ++c->tier_changes;
      ax.push_back(Risk(p->answered_risk));
      sx.push_back(Risk(p->shadow_risk));
      ar.push_back(p->answered_risk);
      sr.push_back(p->shadow_risk);
    }
    c->spearman = SpearmanCorrelation(ax, sx);
    std::vector<double>().swap(ax);
    std::vector<double>().swap(sx);
    if (n > 0) {
      const std::uint16_t a_cut = TopDecileCut(std::move(ar));
      const std::uint16_t s_cut = TopDecileCut(std::move(sr));
      for (const Pair* p = begin; p != end; ++p) {
        if (p->answered_risk < a_cut) continue;
        ++c->answered_top;
        if (p->shadow_risk >= s_cut) ++c->top_both;
      }
      c->top_decile_overlap =
          Ratio(static_cast<double>(c->top_both), static_cast<double>(c->answered_top));
    }
    // Per customer (the range is sorted by user, then time).
    std::vector<MovedToHigh> moved;
    std::vector<double> a_scores;
    std::vector<double> s_scores;
    std::vector<float> labels;
    auto take_week = [&](const Pair& p) {
      ++c->customer_weeks;
      const Outcome* o = Match(user_begin, p);
      if (o == nullptr) {
        ++c->unmatched;
      } else if (o->label < 0 || o->label_ts > options.as_of) {
        ++c->pending;
      } else {
        ++c->known;
        if (o->label == 1) ++c->churned;
        a_scores.push_back(Risk(p.answered_risk));
        s_scores.push_back(Risk(p.shadow_risk));
        labels.push_back(static_cast<float>(o->label));
      }
    };
    const Pair* p = begin;
    while (p != end) {
      const Pair* user_end = p;
      while (user_end != end && user_end->user == p->user) ++user_end;
      ++c->customers;
      const Pair& latest = *(user_end - 1);
      if (latest.answered_tier != static_cast<std::uint8_t>(Tier::kHigh) &&
          latest.shadow_tier == static_cast<std::uint8_t>(Tier::kHigh)) {
        moved.push_back({*user_names[latest.user], latest.unix_ms, Risk(latest.answered_risk),
                         static_cast<Tier>(latest.answered_tier), Risk(latest.shadow_risk)});
      }
      for (const Pair* q = p; q != user_end; ++q) {
        const bool last_of_week = q + 1 == user_end || WeekStart(Seconds((q + 1)->unix_ms)) !=
                                                           WeekStart(Seconds(q->unix_ms));
        if (last_of_week) take_week(*q);
      }
      p = user_end;
    }
    c->moved_to_high = moved.size();
    std::sort(moved.begin(), moved.end(), [](const MovedToHigh& a, const MovedToHigh& b) {
      return a.shadow_risk != b.shadow_risk ? a.shadow_risk > b.shadow_risk : a.user_id < b.user_id;
    });
    if (moved.size() > kMovedToHighListed) moved.resize(kMovedToHighListed);
    c->moved_to_high_list = std::move(moved);
    c->churn_rate = Ratio(static_cast<double>(c->churned), static_cast<double>(c->known));
    c->answered = OutcomeFigures(a_scores, labels);
    c->shadow = OutcomeFigures(s_scores, labels);
  }
};

ShadowCompareBuilder::ShadowCompareBuilder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ShadowCompareBuilder::~ShadowCompareBuilder() = default;

Result<std::unique_ptr<ShadowCompareBuilder>> ShadowCompareBuilder::Create(
    const MonitorOptions& options) {
  CSML_TRY(options.Validate());
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  return std::unique_ptr<ShadowCompareBuilder>(new ShadowCompareBuilder(std::move(impl)));
}

void ShadowCompareBuilder::AddOutcome(const Snapshot& snapshot) {
  Outcome o;
  o.user = impl_->Intern(snapshot.user_id);
  o.snapshot_ts = snapshot.snapshot_ts;
  if (snapshot.label && snapshot.label_ts) {
    o.label = *snapshot.label;
    o.label_ts = *snapshot.label_ts;
  }
  impl_->outcomes.push_back(o);
}

void ShadowCompareBuilder::Add(const PredictionRecord& record) { impl_->Add(record); }

Result<ShadowCompareReport> ShadowCompareBuilder::Finish(const MonitorSource& source) {
  Impl& impl = *impl_;
  if (impl.too_many_versions) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("prediction log: more than {} model versions", UINT16_MAX));
  }
  ShadowCompareReport report;
  report.source = source;
  report.options = impl.options;
  report.answers = impl.answers.size();
  report.shadow_records = impl.shadows.size();
  std::map<std::pair<std::uint16_t, std::uint16_t>, std::uint32_t> groups;
  std::vector<Pair> pairs = impl.Join(&groups);
  report.paired = pairs.size();
  report.unpaired_shadows = report.shadow_records - report.paired;
  std::vector<Row>().swap(impl.answers);
  std::vector<Row>().swap(impl.shadows);

  // The outcomes by user (CSR offsets), each user's by snapshot time.
  std::sort(impl.outcomes.begin(), impl.outcomes.end(), [](const Outcome& a, const Outcome& b) {
    return a.user != b.user ? a.user < b.user : a.snapshot_ts < b.snapshot_ts;
  });
  std::vector<std::uint32_t> user_begin(impl.users.size() + 1, 0);
  for (const Outcome& o : impl.outcomes) ++user_begin[o.user + 1];
  for (std::size_t u = 1; u < user_begin.size(); ++u) user_begin[u] += user_begin[u - 1];

  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) {
    if (a.group != b.group) return a.group < b.group;
    return a.user != b.user ? a.user < b.user : a.unix_ms < b.unix_ms;
  });
  std::vector<std::pair<std::uint16_t, std::uint16_t>> group_versions(groups.size());
  for (const auto& [versions, g] : groups) group_versions[g] = versions;
  std::size_t i = 0;
  while (i < pairs.size()) {
    std::size_t j = i;
    while (j < pairs.size() && pairs[j].group == pairs[i].group) ++j;
    ShadowComparison c;
    c.answered_version = impl.versions[group_versions[pairs[i].group].first];
    c.shadow_version = impl.versions[group_versions[pairs[i].group].second];
    impl.Figures(pairs.data() + i, pairs.data() + j, user_begin, &c);
    report.comparisons.push_back(std::move(c));
    i = j;
  }
  std::sort(report.comparisons.begin(), report.comparisons.end(),
            [](const ShadowComparison& a, const ShadowComparison& b) {
              return a.answered_version != b.answered_version
                         ? a.answered_version < b.answered_version
                         : a.shadow_version < b.shadow_version;
            });
  return report;
}

Result<ShadowCompareReport> RunShadowCompare(const std::string& log_dir,
                                             const MonitorOptions& options,
                                             std::vector<Snapshot> outcomes, MonitorSource source) {
  CSML_ASSIGN_OR_RETURN(auto builder, ShadowCompareBuilder::Create(options));
  for (const Snapshot& s : outcomes) builder->AddOutcome(s);
  std::vector<Snapshot>().swap(outcomes);
  CSML_ASSIGN_OR_RETURN(
      PredictionLogReadStats stats,
      ReadPredictionLog(log_dir, [&](const PredictionRecord& r) { builder->Add(r); }));
  source.log_dir = log_dir;
  source.log_files = stats.files;
  source.log_records = stats.records;
  source.torn_lines = stats.torn_lines;
  source.bad_lines = stats.bad_lines;
  source.first_bad_line_error = stats.first_bad_line_error;
  if (stats.records == 0) {
    return MakeError(
        ErrorCode::kValidation,
        fmt::format("prediction log {}: no record in {} segment files", log_dir, stats.files));
  }
  return builder->Finish(source);
}

namespace {

std::string TierLabel(std::size_t t) { return std::string(TierName(static_cast<Tier>(t))); }

void WriteNumber(JsonWriter& w, double v, int decimals = 6) {
  if (std::isfinite(v)) {
    w.Rounded(v, decimals);
  } else {
    w.Null();
  }
}

void WriteSide(JsonWriter& w, const CompareOutcomeFigures& f) {
  w.BeginObject();
  w.Key("mean_risk");
  WriteNumber(w, f.mean_risk);
  w.Key("auc");
  WriteNumber(w, f.auc);
  w.Key("calibration_error");
  WriteNumber(w, f.calibration_error);
  w.EndObject();
}

std::string Html(std::string_view text) {
  std::string out;
  for (const char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

Status WriteWhole(const std::filesystem::path& path, std::string_view text) {
  const std::filesystem::path temp = path.parent_path() / (".tmp-" + path.filename().string());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(temp, ignored);
      return MakeError(ErrorCode::kIo, fmt::format("{}: cannot write", temp.string()));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp, ec);
    return MakeError(ErrorCode::kIo,
                     fmt::format("{}: cannot rename {} to it", path.string(), temp.string()));
  }
  return {};
}

}  // namespace

std::string RenderShadowCompareText(const ShadowCompareReport& r) {
  std::string out;
  const auto line = [&out](const std::string& text) {
    out += text;
    out += '\n';
  };
  const MonitorSource& s = r.source;
  line(fmt::format(
      "csml monitor --compare: {} shadow scores, {} paired with their answers ({} unpaired); "
      "{} answers",
      r.shadow_records, r.paired, r.unpaired_shadows, r.answers));
  line(fmt::format("  log         {}: {} segment files, {} torn lines, {} bad lines", s.log_dir,
                   s.log_files, s.torn_lines, s.bad_lines));
  line(fmt::format("  outcomes    {}: {} records ({} invalid), known as of {}", s.outcomes_origin,
                   s.outcome_records, s.outcomes_invalid, FormatRfc3339(r.options.as_of)));
  line(fmt::format("  join        latest snapshot at or before the answer, within {} days",
                   Fixed(static_cast<double>(r.options.match_window) / kSecondsPerDay, 1)));
  for (const ShadowComparison& c : r.comparisons) {
    line("");
    line(fmt::format("answered {}  vs  shadow {}: {} pairs, {} customers", c.answered_version,
                     c.shadow_version, c.pairs, c.customers));
    line(fmt::format(
        "  tier changes       {} of {} pairs ({})", c.tier_changes, c.pairs,
        Percent(Ratio(static_cast<double>(c.tier_changes), static_cast<double>(c.pairs)))));
    line(
        fmt::format("    {:<18} {:>9} {:>9} {:>9}", "answered \\ shadow", "low", "medium", "high"));
    for (std::size_t a = 0; a < kTiers; ++a) {
      line(fmt::format("    {:<18} {:>9} {:>9} {:>9}", TierLabel(a), c.tiers[a][0], c.tiers[a][1],
                       c.tiers[a][2]));
    }
    line(fmt::format("  top-decile overlap {} ({} of the {} answered top-decile pairs)",
                     Fixed(c.top_decile_overlap, 3), c.top_both, c.answered_top));
    line(fmt::format("  rank correlation   {} (Spearman)", Fixed(c.spearman, 3)));
    line(fmt::format("  moving up to high  {} customers{}", c.moved_to_high,
                     c.moved_to_high_list.empty() ? "" : ", highest shadow risk first:"));
    for (const MovedToHigh& m : c.moved_to_high_list) {
      line(fmt::format("    {:<24} {} {} -> high {}", m.user_id, TierName(m.answered_tier),
                       Fixed(m.answered_risk, 4), Fixed(m.shadow_risk, 4)));
    }
    line(fmt::format(
        "  outcomes           {} customer-weeks: {} known ({} churned), {} pending, {} unmatched",
        c.customer_weeks, c.known, c.churned, c.pending, c.unmatched));
    line(fmt::format("    {:<18} {:>9} {:>9}", "", "answered", "shadow"));
    line(fmt::format("    {:<18} {:>9} {:>9}", "realized AUC", Fixed(c.answered.auc, 3),
                     Fixed(c.shadow.auc, 3)));
    line(fmt::format("    {:<18} {:>9} {:>9}", "calibration (ECE)",
                     Fixed(c.answered.calibration_error, 3), Fixed(c.shadow.calibration_error, 3)));
    line(fmt::format("    {:<18} {:>9} {:>9}  (churn rate {})", "mean risk",
                     Fixed(c.answered.mean_risk, 3), Fixed(c.shadow.mean_risk, 3),
                     Fixed(c.churn_rate, 3)));
  }
  return out;
}

std::string RenderShadowCompareJson(const ShadowCompareReport& r) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("format").Int(kShadowCompareFormatVersion);
  w.Key("kind").String("shadow_compare");
  w.Key("generated_at").String(FormatRfc3339(r.source.generated_at));
  w.Key("source").BeginObject();
  w.Key("log_dir").String(r.source.log_dir);
  w.Key("log_files").Uint(r.source.log_files);
  w.Key("log_records").Uint(r.source.log_records);
  w.Key("torn_lines").Uint(r.source.torn_lines);
  w.Key("bad_lines").Uint(r.source.bad_lines);
  w.Key("first_bad_line_error").String(r.source.first_bad_line_error);
  w.Key("outcomes").String(r.source.outcomes_origin);
  w.Key("outcome_records").Uint(r.source.outcome_records);
  w.Key("outcomes_invalid").Uint(r.source.outcomes_invalid);
  w.Key("as_of").String(FormatRfc3339(r.options.as_of));
  w.EndObject();
  w.Key("pairing").BeginObject();
  w.Key("rule").String(
      "a shadow record pairs with the served or canary record of the same request_id, "
      "batch_index and user_id");
  w.Key("answers").Uint(r.answers);
  w.Key("shadow_records").Uint(r.shadow_records);
  w.Key("paired").Uint(r.paired);
  w.Key("unpaired_shadows").Uint(r.unpaired_shadows);
  w.EndObject();
  w.Key("join").BeginObject();
  w.Key("rule").String(
      "each customer once per week (its latest pair), matched to its latest snapshot with "
      "snapshot_ts <= the answer's time, within the match window; outcome known when labeled "
      "with label_ts <= as_of");
  w.Key("match_window_seconds").Int(r.options.match_window);
  w.EndObject();
  w.Key("comparisons").BeginArray();
  for (const ShadowComparison& c : r.comparisons) {
    w.BeginObject();
    w.Key("answered_version").String(c.answered_version);
    w.Key("shadow_version").String(c.shadow_version);
    w.Key("pairs").Uint(c.pairs);
    w.Key("customers").Uint(c.customers);
    w.Key("tier_matrix").BeginObject();  // answered tier -> shadow tier -> pairs
    for (std::size_t a = 0; a < kTiers; ++a) {
      w.Key(TierLabel(a)).BeginObject();
      for (std::size_t s = 0; s < kTiers; ++s) w.Key(TierLabel(s)).Uint(c.tiers[a][s]);
      w.EndObject();
    }
    w.EndObject();
    w.Key("tier_changes").Uint(c.tier_changes);
    w.Key("top_decile").BeginObject();
    w.Key("answered").Uint(c.answered_top);
    w.Key("in_both").Uint(c.top_both);
    w.Key("overlap");
    WriteNumber(w, c.top_decile_overlap);
    w.EndObject();
    w.Key("spearman");
    WriteNumber(w, c.spearman);
    w.Key("moved_to_high").BeginObject();
    w.Key("customers").Uint(c.moved_to_high);
    w.Key("listed").BeginArray();
    for (const MovedToHigh& m : c.moved_to_high_list) {
      w.BeginObject();
      w.Key("user_id").String(m.user_id);
      w.Key("ts").String(FormatRfc3339(Seconds(m.unix_ms)));
      w.Key("answered_risk");
      WriteNumber(w, m.answered_risk, 4);
      w.Key("answered_tier").String(TierName(m.answered_tier));
      w.Key("shadow_risk");
      WriteNumber(w, m.shadow_risk, 4);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    w.Key("outcomes").BeginObject();
    w.Key("customer_weeks").Uint(c.customer_weeks);
    w.Key("known").Uint(c.known);
    w.Key("pending").Uint(c.pending);
    w.Key("unmatched").Uint(c.unmatched);
    w.Key("churned").Uint(c.churned);
    w.Key("churn_rate");
    WriteNumber(w, c.churn_rate);
    w.Key("answered");
    WriteSide(w, c.answered);
    w.Key("shadow");
    WriteSide(w, c.shadow);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  out += '\n';
  return out;
}

std::string RenderShadowCompareHtml(const ShadowCompareReport& r) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>csml monitor --compare</title><style>"
      "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
      "table{border-collapse:collapse;margin:.5em 0 1.5em}"
      "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
      "th{background:#f3f3f3}td.l,th.l{text-align:left}.d{background:#eef6ee}"
      "</style></head><body>\n";
  out += fmt::format(
      "<h1>Shadow versus answered</h1><p>{} shadow scores, {} paired with their answers ({} "
      "unpaired); {} answers. Log {}; outcomes {}, known as of {}.</p>\n",
      r.shadow_records, r.paired, r.unpaired_shadows, r.answers, Html(r.source.log_dir),
      Html(r.source.outcomes_origin), FormatRfc3339(r.options.as_of));
  for (const ShadowComparison& c : r.comparisons) {
    out += fmt::format("<h2>answered {} vs shadow {}</h2><p>{} pairs, {} customers.</p>\n",
                       Html(c.answered_version), Html(c.shadow_version), c.pairs, c.customers);
    out +=
        "<table><tr><th class=\"l\">answered \\ shadow</th><th>low</th><th>medium</th>"
        "<th>high</th></tr>";
    for (std::size_t a = 0; a < kTiers; ++a) {
      out += fmt::format("<tr><th class=\"l\">{}</th>", TierLabel(a));
      for (std::size_t s = 0; s < kTiers; ++s) {
        out += fmt::format("<td{}>{}</td>", a == s ? " class=\"d\"" : "", c.tiers[a][s]);
      }
      out += "</tr>";
    }
    out += "</table>\n<table>";
    out += fmt::format("<tr><th class=\"l\">top-decile overlap</th><td>{} ({} of {})</td></tr>",
                       Fixed(c.top_decile_overlap, 3), c.top_both, c.answered_top);
    out += fmt::format("<tr><th class=\"l\">rank correlation (Spearman)</th><td>{}</td></tr>",
                       Fixed(c.spearman, 3));
    out += fmt::format("<tr><th class=\"l\">customers moving up to high</th><td>{}</td></tr>",
                       c.moved_to_high);
    out += fmt::format(
        "<tr><th class=\"l\">customer-weeks: known (churned) / pending / unmatched</th>"
        "<td>{} ({}) / {} / {}</td></tr></table>\n",
        c.known, c.churned, c.pending, c.unmatched);
    out += "<table><tr><th></th><th>answered</th><th>shadow</th></tr>";
    out += fmt::format("<tr><th class=\"l\">realized AUC</th><td>{}</td><td>{}</td></tr>",
                       Fixed(c.answered.auc, 3), Fixed(c.shadow.auc, 3));
    out +=
        fmt::format("<tr><th class=\"l\">calibration error (ECE)</th><td>{}</td><td>{}</td></tr>",
                    Fixed(c.answered.calibration_error, 3), Fixed(c.shadow.calibration_error, 3));
    out += fmt::format("<tr><th class=\"l\">mean risk</th><td>{}</td><td>{}</td></tr></table>\n",
                       Fixed(c.answered.mean_risk, 3), Fixed(c.shadow.mean_risk, 3));
    if (!c.moved_to_high_list.empty()) {
      out += "<table><tr><th class=\"l\">user</th><th>answered</th><th>shadow risk</th></tr>";
      for (const MovedToHigh& m : c.moved_to_high_list) {
        out += fmt::format("<tr><td class=\"l\">{}</td><td>{} {}</td><td>{}</td></tr>",
                           Html(m.user_id), TierName(m.answered_tier), Fixed(m.answered_risk, 4),
                           Fixed(m.shadow_risk, 4));
      }
      out += "</table>\n";
    }
  }
  out += "</body></html>\n";
  return out;
}

Result<ShadowCompareFiles> WriteShadowCompareReport(const ShadowCompareReport& report,
                                                    const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, fmt::format("{}: cannot create the report directory: {}",
                                                 dir.string(), ec.message()));
  }
  ShadowCompareFiles files{dir / "report.json", dir / "report.html"};
  CSML_TRY(WriteWhole(files.json, RenderShadowCompareJson(report)));
  CSML_TRY(WriteWhole(files.html, RenderShadowCompareHtml(report)));
  return files;
}

}  // namespace csml
