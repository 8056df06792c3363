#include "csml/monitoring/monitor_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "csml/evaluation/metrics.h"

namespace csml {
namespace {

constexpr std::size_t kTiers = 3;

// One logged prediction as the join needs it (24 bytes).
struct Row {
  std::int64_t unix_ms = 0;
  std::uint32_t user = 0;
  float plan_value = 0;    // NaN when not sent
  std::uint16_t risk = 0;  // in 1e-4: the log keeps the risk /score answered, 4 decimals
  std::uint16_t version = 0;
  std::uint8_t tier = 0;
};
static_assert(sizeof(Row) == 24);

// One snapshot's outcome (24 bytes).
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

// What is counted as predictions are read: volume, tiers, feature bins.
struct DriftCounts {
  std::uint64_t predictions = 0;
  std::array<std::uint64_t, kTiers> tier_predictions{};
  std::array<std::uint64_t, kNumDriftFeatures> missing{};
  // Per feature: reference bins + 1 (missing last); empty without a reference.
  std::array<std::vector<std::uint64_t>, kNumDriftFeatures> bins;
  std::vector<std::uint64_t> score_bins;

  void Merge(const DriftCounts& other) {
    predictions += other.predictions;
    for (std::size_t t = 0; t < kTiers; ++t) tier_predictions[t] += other.tier_predictions[t];
    for (std::size_t f = 0; f < kNumDriftFeatures; ++f) {
      missing[f] += other.missing[f];
      if (bins[f].size() < other.bins[f].size()) bins[f].resize(other.bins[f].size(), 0);
      for (std::size_t b = 0; b < other.bins[f].size(); ++b) bins[f][b] += other.bins[f][b];
    }
    if (score_bins.size() < other.score_bins.size()) score_bins.resize(other.score_bins.size(), 0);
    for (std::size_t b = 0; b < other.score_bins.size(); ++b) score_bins[b] += other.score_bins[b];
  }
};

// The customer-weeks of a cell: counts and the known outcomes.
struct OutcomeCounts {
  std::uint64_t customers = 0;
  std::uint64_t unmatched = 0;
  std::uint64_t pending = 0;
  std::array<MonitorTierFigures, kTiers> tiers{};
  std::vector<double> scores;  // known outcomes
  std::vector<float> labels;
};

struct CellState {
  DriftCounts drift;
  OutcomeCounts outcomes;
};

struct VersionState {
  std::string name;
  std::optional<MonitorReference> reference;
  std::map<UnixSeconds, CellState> weeks;
};

double Ratio(double a, double b) { return b > 0 ? a / b : kMonitorNaN; }

std::string WeekText(UnixSeconds week_start) { return FormatRfc3339(week_start).substr(0, 10); }

}  // namespace

std::string_view DriftFeatureName(std::size_t index) {
  return index < kNumNumericFeatures ? kNumericFeatureSpecs[index].name : kRegionFeatureName;
}

double RegionBinValue(Region region) {
  switch (region) {
    case Region::kIN:
      return 0;
    case Region::kSG:
      return 1;
    case Region::kUS:
      return 2;
    case Region::kEU:
      return 3;
    case Region::kOther:
      return 4;
    case Region::kMissing:
      break;
  }
  return kMonitorNaN;
}

UnixSeconds WeekStart(UnixSeconds t) {
  // 1970-01-01 was a Thursday; the Monday before it is -3 days.
  constexpr UnixSeconds kMonday = -3 * kSecondsPerDay;
  constexpr UnixSeconds kWeek = 7 * kSecondsPerDay;
  UnixSeconds since = t - kMonday;
  UnixSeconds weeks = since / kWeek;
  if (since % kWeek < 0) --weeks;
  return kMonday + weeks * kWeek;
}

Status MonitorOptions::Validate() const {
  if (match_window <= 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("match_window: expected a positive time, got {} s", match_window));
  }
  if (!(min_auc >= 0 && min_auc <= 1)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("min_auc: expected a number in [0, 1], got {}", min_auc));
  }
  if (!(max_psi >= 0)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("max_psi: expected a number >= 0, got {}", max_psi));
  }
  if (!(max_calibration_error >= 0 && max_calibration_error <= 1)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("max_calibration_error: expected a number in [0, 1], got {}",
                                 max_calibration_error));
  }
  if (min_outcomes < 2) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("min_outcomes: expected at least 2, got {}", min_outcomes));
  }
  if (min_psi_predictions < 1) {
    return MakeError(ErrorCode::kInvalidArgument, "min_psi_predictions: expected at least 1");
  }
  return {};
}

double MonitorCell::tier_share(Tier t) const {
  return Ratio(static_cast<double>(tiers[static_cast<std::size_t>(t)].predictions),
               static_cast<double>(predictions));
}

double MonitorCell::max_psi() const {
  double worst = kMonitorNaN;
  for (const MonitorFeatureDrift& f : features) {
    if (!std::isnan(f.psi) && !(f.psi <= worst)) worst = f.psi;
  }
  if (!std::isnan(score_psi) && !(score_psi <= worst)) worst = score_psi;
  return worst;
}

struct MonitorBuilder::Impl {
  MonitorOptions options;
  MonitorReferenceLookup lookup;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> users;
  std::vector<Outcome> outcomes;
  std::vector<Row> rows;
  std::vector<VersionState> versions;
  std::size_t last_version = SIZE_MAX;  // VersionIndex's cache
  // Cell's cache: the cell of (cell_version, cell_week).
  std::size_t cell_version = SIZE_MAX;
  UnixSeconds cell_week = 0;
  CellState* last_cell = nullptr;
  std::optional<Error> error;
  std::int64_t first_ms = INT64_MAX;
  std::int64_t last_ms = INT64_MIN;
  std::uint64_t shadow_records = 0;

  std::uint32_t Intern(std::string_view user) {
    if (auto it = users.find(user); it != users.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(users.size());
    users.emplace(std::string(user), id);
    return id;
  }

  std::size_t VersionIndex(std::string_view name) {
    if (last_version < versions.size() && versions[last_version].name == name) {
      return last_version;
    }
    for (std::size_t i = 0; i < versions.size(); ++i) {
      if (versions[i].name == name) return last_version = i;
    }
    VersionState state;
    state.name = std::string(name);
    if (lookup) {
      Result<std::optional<MonitorReference>> found = lookup(name);
      if (found) {
        state.reference = std::move(*found);
      } else if (!error) {
        error = found.error().WithContext(fmt::format("model version {}", name));
      }
    }
    versions.push_back(std::move(state));
    return last_version = versions.size() - 1;
  }

  CellState& Cell(std::size_t version, UnixSeconds week) {
    if (last_cell != nullptr && version == cell_version && week == cell_week) return *last_cell;
    VersionState& v = versions[version];
    auto [it, inserted] = v.weeks.try_emplace(week);
    if (inserted && v.reference) {
      for (std::size_t f = 0; f < kNumDriftFeatures; ++f) {
        if (v.reference->features[f]) {
          it->second.drift.bins[f].assign(v.reference->features[f]->bins() + 1, 0);
        }
      }
      if (v.reference->score) it->second.drift.score_bins.assign(v.reference->score->bins() + 1, 0);
    }
    cell_version = version;
    cell_week = week;
    last_cell = &it->second;
    return it->second;
  }

  void Add(const PredictionRecord& record) {
    // A shadow score never reached the client: it is not a prediction of its version
    // (csml monitor --compare reads it).
    if (!IsAnswer(record.role)) {
      ++shadow_records;
      return;
    }
    const std::size_t version = VersionIndex(record.model_version);
    UnixSeconds seconds = record.unix_ms / 1000;
    if (record.unix_ms % 1000 < 0) --seconds;
    const UnixSeconds week = WeekStart(seconds);
    CellState& cell = Cell(version, week);
    const std::optional<MonitorReference>& reference = versions[version].reference;
    DriftCounts& drift = cell.drift;
    ++drift.predictions;
    ++drift.tier_predictions[static_cast<std::size_t>(record.tier)];
    for (std::size_t f = 0; f < kNumDriftFeatures; ++f) {
      const double v = f < kNumNumericFeatures ? record.features.numeric[f]
                                               : RegionBinValue(record.features.region);
      const bool missing = std::isnan(v);
      if (missing) ++drift.missing[f];
      if (drift.bins[f].empty()) continue;
      const BinnedDistribution& ref = *(*reference).features[f];
      ++drift.bins[f][missing ? ref.bins() : ref.BinOf(v)];
    }
    if (!drift.score_bins.empty()) ++drift.score_bins[reference->score->BinOf(record.risk)];

    Row row;
    row.unix_ms = record.unix_ms;
    row.user = Intern(record.user_id);
    row.risk = static_cast<std::uint16_t>(std::lround(std::clamp(record.risk, 0.0, 1.0) * 1e4));
    row.plan_value = static_cast<float>(record.features.Get(NumericFeature::kPlanValue));
    row.version = static_cast<std::uint16_t>(version);
    row.tier = static_cast<std::uint8_t>(record.tier);
    rows.push_back(row);
    first_ms = std::min(first_ms, record.unix_ms);
    last_ms = std::max(last_ms, record.unix_ms);
  }

  // One customer-week of a version: its latest prediction and that prediction's outcome.
  void TakeCustomerWeek(const Row& row, const Outcome* match) {
    UnixSeconds seconds = row.unix_ms / 1000;
    if (row.unix_ms % 1000 < 0) --seconds;
    OutcomeCounts& out = versions[row.version].weeks[WeekStart(seconds)].outcomes;
    ++out.customers;
    MonitorTierFigures& tier = out.tiers[row.tier];
    ++tier.customers;
    const double plan = std::isnan(row.plan_value) ? 0.0 : static_cast<double>(row.plan_value);
    const double risk = static_cast<double>(row.risk) / 1e4;
    const double at_risk = plan * risk;
    tier.revenue_at_risk += at_risk;
    if (match == nullptr) {
      ++out.unmatched;
      return;
    }
    if (match->label < 0 || match->label_ts > options.as_of) {
      ++out.pending;
      return;
    }
    ++tier.known;
    tier.revenue_at_risk_known += at_risk;
    if (match->label == 1) {
      ++tier.churned;
      tier.revenue_churned += plan;
    }
    out.scores.push_back(risk);
    out.labels.push_back(static_cast<float>(match->label));
  }

  void Join() {
    std::sort(outcomes.begin(), outcomes.end(), [](const Outcome& a, const Outcome& b) {
      return a.user != b.user ? a.user < b.user : a.snapshot_ts < b.snapshot_ts;
    });
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return a.user != b.user ? a.user < b.user : a.unix_ms < b.unix_ms;
    });
    // The latest prediction of each version in the current (user, week), with its match.
    struct Latest {
      const Row* row;
      const Outcome* match;
    };
    std::vector<Latest> latest;
    auto flush = [&] {
      for (const Latest& l : latest) TakeCustomerWeek(*l.row, l.match);
      latest.clear();
    };
    std::size_t o = 0;
    std::size_t i = 0;
    while (i < rows.size()) {
      const std::uint32_t user = rows[i].user;
      while (o < outcomes.size() && outcomes[o].user < user) ++o;
      const std::size_t o_begin = o;
      while (o < outcomes.size() && outcomes[o].user == user) ++o;
      const std::size_t o_end = o;
      std::size_t next = o_begin;  // first outcome with snapshot_ts > t
      UnixSeconds week = INT64_MIN;
      for (; i < rows.size() && rows[i].user == user; ++i) {
        const Row& row = rows[i];
        UnixSeconds t = row.unix_ms / 1000;
        if (row.unix_ms % 1000 < 0) --t;
        while (next < o_end && outcomes[next].snapshot_ts <= t) ++next;
        const Outcome* match = nullptr;
        if (next > o_begin && t - outcomes[next - 1].snapshot_ts <= options.match_window) {
          match = &outcomes[next - 1];
        }
        const UnixSeconds w = WeekStart(t);
        if (w != week) {
          flush();
          week = w;
        }
        auto it = std::find_if(latest.begin(), latest.end(),
                               [&](const Latest& l) { return l.row->version == row.version; });
        if (it == latest.end()) {
          latest.push_back({&row, match});
        } else {
          *it = {&row, match};
        }
      }
      flush();
    }
  }

  static MonitorCell Figures(UnixSeconds week_start, const DriftCounts& drift,
                             const OutcomeCounts& out, const std::optional<MonitorReference>& ref) {
    MonitorCell cell;
    cell.week_start = week_start;
    cell.predictions = drift.predictions;
    cell.customers = out.customers;
    cell.unmatched = out.unmatched;
    cell.pending = out.pending;
    cell.known = out.scores.size();
    cell.tiers = out.tiers;
    for (std::size_t t = 0; t < kTiers; ++t) {
      MonitorTierFigures& tier = cell.tiers[t];
      tier.predictions = drift.tier_predictions[t];
      tier.churn_rate = Ratio(static_cast<double>(tier.churned), static_cast<double>(tier.known));
      cell.churned += tier.churned;
      cell.revenue_at_risk += tier.revenue_at_risk;
      cell.revenue_at_risk_known += tier.revenue_at_risk_known;
      cell.revenue_churned += tier.revenue_churned;
    }
    cell.churn_rate = Ratio(static_cast<double>(cell.churned), static_cast<double>(cell.known));
    if (cell.known > 0) {
      double sum = 0;
      for (const double s : out.scores) sum += s;
      cell.mean_risk = sum / static_cast<double>(cell.known);
      if (auto auc = RocAuc(out.scores, out.labels); auc) cell.auc = *auc;
      cell.auc_standard_error = AucStandardError(cell.auc, cell.churned, cell.known - cell.churned);
      if (auto ap = AveragePrecision(out.scores, out.labels); ap) cell.pr_auc = *ap;
      if (auto ece = ExpectedCalibrationError(out.scores, out.labels, 10); ece) {
        cell.calibration_error = *ece;
      }
    }
    cell.has_reference = ref.has_value();
    for (std::size_t f = 0; f < kNumDriftFeatures; ++f) {
      MonitorFeatureDrift& d = cell.features[f];
      d.missing_share =
          Ratio(static_cast<double>(drift.missing[f]), static_cast<double>(drift.predictions));
      if (ref && ref->features[f] && !drift.bins[f].empty()) {
        d.psi = PsiOfCounts(*ref->features[f], drift.bins[f]);
        d.reference_missing_share = ref->features[f]->missing_share;
      }
    }
    if (ref && ref->score && !drift.score_bins.empty()) {
      cell.score_psi = PsiOfCounts(*ref->score, drift.score_bins);
    }
    return cell;
  }

  void Check(const MonitorOptions& o, const std::string& version, const MonitorCell& cell,
             MonitorReport* report) const {
    const std::string where = fmt::format("{} week {}", version, WeekText(cell.week_start));
    auto add = [&](std::string name, bool passed, std::string detail) {
      report->checks.push_back(
          {std::move(name), version, cell.week_start, passed, std::move(detail)});
      if (!passed) report->passed = false;
    };
    const bool both_classes = cell.churned > 0 && cell.churned < cell.known;
    if (cell.known >= o.min_outcomes && both_classes) {
      add("min_auc", cell.auc >= o.min_auc,
          fmt::format("{}: realized AUC {:.4f} {} {:.2f} ({} known outcomes)", where, cell.auc,
                      cell.auc >= o.min_auc ? ">=" : "<", o.min_auc, cell.known));
      add("max_calibration_error", cell.calibration_error <= o.max_calibration_error,
          fmt::format("{}: calibration error {:.4f} {} {:.2f} (mean risk {:.4f}, churn rate "
                      "{:.4f})",
                      where, cell.calibration_error,
                      cell.calibration_error <= o.max_calibration_error ? "<=" : ">",
                      o.max_calibration_error, cell.mean_risk, cell.churn_rate));
    } else {
      report->not_checked.push_back(
          fmt::format("{}: AUC and calibration not checked: {} known outcomes ({} churned), "
                      "{} and both classes needed",
                      where, cell.known, cell.churned, o.min_outcomes));
    }
    if (!cell.has_reference) {
      report->not_checked.push_back(
          fmt::format("{}: PSI not checked: the version has no training profile", where));
    } else if (cell.predictions < o.min_psi_predictions) {
      report->not_checked.push_back(fmt::format("{}: PSI not checked: {} predictions, {} needed",
                                                where, cell.predictions, o.min_psi_predictions));
    } else {
      std::string worst_name;
      double worst = -1;
      std::vector<std::string> over;
      auto consider = [&](std::string_view name, double psi) {
        if (std::isnan(psi)) return;
        if (psi > worst) {
          worst = psi;
          worst_name = std::string(name);
        }
        if (psi > o.max_psi) over.push_back(fmt::format("{} {:.3f}", name, psi));
      };
      for (std::size_t f = 0; f < kNumDriftFeatures; ++f) {
        consider(DriftFeatureName(f), cell.features[f].psi);
      }
      consider("risk", cell.score_psi);
      if (worst >= 0) {
        add("max_psi", over.empty(),
            over.empty()
                ? fmt::format("{}: largest PSI {} {:.3f} <= {:.2f}", where, worst_name, worst,
                              o.max_psi)
                : fmt::format("{}: PSI above {:.2f}: {}", where, o.max_psi, fmt::join(over, ", ")));
      }
    }
  }
};

MonitorBuilder::MonitorBuilder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MonitorBuilder::~MonitorBuilder() = default;

Result<std::unique_ptr<MonitorBuilder>> MonitorBuilder::Create(const MonitorOptions& options,
                                                               MonitorReferenceLookup lookup) {
  CSML_TRY(options.Validate());
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->lookup = std::move(lookup);
  return std::unique_ptr<MonitorBuilder>(new MonitorBuilder(std::move(impl)));
}

void MonitorBuilder::AddOutcome(const Snapshot& snapshot) {
  Outcome o;
  o.user = impl_->Intern(snapshot.user_id);
  o.snapshot_ts = snapshot.snapshot_ts;
  if (snapshot.label && snapshot.label_ts) {
    o.label = *snapshot.label;
    o.label_ts = *snapshot.label_ts;
  }
  impl_->outcomes.push_back(o);
}

void MonitorBuilder::Add(const PredictionRecord& record) { impl_->Add(record); }

Result<MonitorReport> MonitorBuilder::Finish(const MonitorSource& source) {
  Impl& impl = *impl_;
  if (impl.error) return tl::unexpected(*impl.error);
  if (impl.versions.size() > UINT16_MAX) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("prediction log: {} model versions, at most {} supported",
                                 impl.versions.size(), UINT16_MAX));
  }
  impl.Join();
  MonitorReport report;
  report.source = source;
  report.options = impl.options;
  report.predictions = impl.rows.size();
  report.shadow_records = impl.shadow_records;
  if (!impl.rows.empty()) {
    report.first_prediction = impl.first_ms / 1000;
    report.last_prediction = impl.last_ms / 1000;
  }
  // The rows are no longer needed: free them before the figures allocate.
  std::vector<Row>().swap(impl.rows);
  std::vector<Outcome>().swap(impl.outcomes);
  for (VersionState& v : impl.versions) {
    MonitorVersion out;
    out.version = v.name;
    out.has_reference = v.reference.has_value();
    DriftCounts all_drift;
    OutcomeCounts all_outcomes;
    for (auto& [week, cell] : v.weeks) {
      out.weeks.push_back(Impl::Figures(week, cell.drift, cell.outcomes, v.reference));
      impl.Check(impl.options, v.name, out.weeks.back(), &report);
      all_drift.Merge(cell.drift);
      OutcomeCounts& o = cell.outcomes;
      all_outcomes.customers += o.customers;
      all_outcomes.unmatched += o.unmatched;
      all_outcomes.pending += o.pending;
      for (std::size_t t = 0; t < kTiers; ++t) {
        MonitorTierFigures& a = all_outcomes.tiers[t];
        a.customers += o.tiers[t].customers;
        a.known += o.tiers[t].known;
        a.churned += o.tiers[t].churned;
        a.revenue_at_risk += o.tiers[t].revenue_at_risk;
        a.revenue_at_risk_known += o.tiers[t].revenue_at_risk_known;
        a.revenue_churned += o.tiers[t].revenue_churned;
      }
      all_outcomes.scores.insert(all_outcomes.scores.end(), o.scores.begin(), o.scores.end());
      all_outcomes.labels.insert(all_outcomes.labels.end(), o.labels.begin(), o.labels.end());
      std::vector<double>().swap(o.scores);
      std::vector<float>().swap(o.labels);
    }
    out.total = Impl::Figures(0, all_drift, all_outcomes, v.reference);
    report.versions.push_back(std::move(out));
  }
  return report;
}

}  // namespace csml
