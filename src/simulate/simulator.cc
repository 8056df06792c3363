#include "csml/simulate/simulator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "csml/features/schema.h"
#include "csml/simulate/random.h"

namespace csml {
namespace {

// ---- the population -------------------------------------------------------------------------

struct RegionChoice {
  Region region;
  std::string_view text;
  double weight;
};

// Mostly the four one-hot regions; a few customers elsewhere or with no region on file.
constexpr std::array<RegionChoice, 9> kRegionChoices = {{
    {Region::kUS, "US", 0.340},
    {Region::kEU, "EU", 0.260},
    {Region::kIN, "IN", 0.200},
    {Region::kSG, "SG", 0.160},
    {Region::kOther, "JP", 0.008},
    {Region::kOther, "BR", 0.008},
    {Region::kOther, "AU", 0.005},
    {Region::kOther, "ZA", 0.004},
    {Region::kMissing, "", 0.015},
}};

// Effect of the region on the churn log-odds (price sensitivity, local competition).
double RegionEffect(Region region) {
  switch (region) {
    case Region::kIN:
      return 0.25;
    case Region::kSG:
      return -0.10;
    case Region::kUS:
      return 0.0;
    case Region::kEU:
      return -0.20;
    case Region::kOther:
      return 0.15;
    case Region::kMissing:
      return 0.0;
  }
  return 0.0;
}

constexpr std::array<double, 5> kPlanPrices = {19.0, 49.0, 99.0, 249.0, 499.0};
constexpr std::array<double, 5> kPlanWeights = {0.30, 0.30, 0.22, 0.12, 0.06};
constexpr std::array<double, 3> kDiscounts = {1.0, 0.9, 0.8};
constexpr std::array<double, 3> kDiscountWeights = {0.7, 0.2, 0.1};

template <std::size_t N>
std::size_t Pick(Rng& rng, const std::array<double, N>& weights) {
  double u = rng.Uniform();
  for (std::size_t i = 0; i + 1 < N; ++i) {
    if (u < weights[i]) return i;
    u -= weights[i];
  }
  return N - 1;
}

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// ---- one customer, day by day --------------------------------------------------------------

// Counts are kept for the last kRingDays simulated days; the 7- and 30-day features are sums.
constexpr int kRingDays = 30;
// Days simulated before a customer's first snapshot so its history windows are full.
constexpr int kBurnInDays = 60;

// Daily dynamics. Engagement is an AR(1) process around the customer's own mean.
constexpr double kEngagementPersistence = 0.97;
constexpr double kEngagementNoise = 0.15;
constexpr double kShockPerDay = 0.004;  // a bad experience: engagement drops at once
constexpr double kDormancyExitPerDay = 0.08;
constexpr double kTroubleExitPerDay = 0.12;
constexpr double kPlanChangePerDay = 0.0015;

// Churn log-odds over the label horizon; the intercept sets the base rate (~12% positives).
constexpr double kChurnIntercept = -2.88;
// The same for the interactions world (also ~12% positives), and its drift: the log-odds
// rise by this much from the first label day to the last.
constexpr double kInteractionsIntercept = -3.28;
constexpr double kInteractionsDrift = 0.5;
// Each world's own share of positives, and how far a log-odds shift moves it: a shift of
// logit(R) - logit(own) times the world's gain lands near R (the risk is spread unevenly over
// customers, so a plain shift undershoots; the gains were measured at R = 5%).
constexpr double kAdditiveRate = 0.124;
constexpr double kInteractionsRate = 0.12;
constexpr double kAdditiveShiftGain = 1.36;
constexpr double kInteractionsShiftGain = 1.30;

double Logit(double p) { return std::log(p / (1.0 - p)); }

// How the churn draw of one snapshot is made: the world, the intercept shift for a target
// base rate and the drift of the interactions world.
struct ChurnProcess {
  SimulatedWorld world = SimulatedWorld::kAdditive;
  double shift = 0;          // added to the log-odds (0 unless a base rate was asked for)
  double drift_per_day = 0;  // added per day since first_day
  int first_day = 0;
};

// What the churn log-odds of a snapshot read from it and from the customer.
struct ChurnInputs {
  double since_last_use = 0;
  double failed_30d = 0;
  double tickets_30d = 0;
  double usage = 0;
  double plan_value = 0;
  bool declining = false;
  Region region = Region::kMissing;
  double loyalty = 0;
};

double AdditiveLogit(const ChurnInputs& in) {
  return kChurnIntercept + 0.11 * std::min(in.since_last_use, 30.0) +
         0.8 * std::min(in.failed_30d, 3.0) + 1.8 * (0.45 - in.usage) +
         0.1 * std::min(in.tickets_30d, 10.0) - 0.35 * std::log(in.plan_value / 49.0) +
         RegionEffect(in.region) - 0.7 * in.loyalty + (in.declining ? 0.4 : 0.0);
}

// The interactions world (simulator.h): no term below is a function of one feature alone
// except the inactivity threshold, and that one is a step.
double InteractionsLogit(const ChurnInputs& in) {
  double z = kInteractionsIntercept;
  const double since = std::min(in.since_last_use, 45.0);
  const double threshold = in.region == Region::kSG ? 7.0 : 14.0;
  z += since >= threshold ? 1.6 + 0.03 * (since - threshold) : 0.01 * since;
  const double tickets = std::min(in.tickets_30d, 8.0);
  const bool failed = in.failed_30d > 0;
  const double ticket_weight = in.region == Region::kEU ? 0.2 : 0.05;
  z += failed ? 0.6 + 0.35 * tickets : ticket_weight * tickets;
  const double low_usage = std::max(0.0, 0.45 - in.usage);
  const bool expensive = in.plan_value >= 99.0;
  z += low_usage * (expensive ? 7.0 : 1.0);
  if (in.region == Region::kIN) z += 0.6 * std::log(in.plan_value / 49.0);
  if (in.region == Region::kUS && expensive && in.usage > 0.6) z -= 0.8;
  if (in.declining) z += in.plan_value < 50.0 ? 0.9 : 0.1;
  z -= 0.7 * in.loyalty;
  return z;
}

// Share of records whose value is null, by feature.
constexpr std::array<double, kNumNumericFeatures> kNullRate = {0.0,    // activity_7d
                                                               0.01,   // activity_30d
                                                               0.01,   // time_since_last_use_days
                                                               0.0,    // failed_renewals_30d
                                                               0.0,    // tickets_7d
                                                               0.05,   // tickets_30d
                                                               0.02,   // plan_value
                                                               0.03};  // usage_score

int RingIndex(int day) { return ((day % kRingDays) + kRingDays) % kRingDays; }

class Customer {
 public:
  Customer(std::uint64_t seed, std::size_t index, int cadence_days, int first_day)
      : rng_(seed ^ (0x9E3779B97F4A7C15ull * (static_cast<std::uint64_t>(index) + 1))) {
    phase_ = static_cast<int>(rng_.Below(static_cast<std::uint32_t>(cadence_days)));
    std::array<double, kRegionChoices.size()> weights{};
    for (std::size_t i = 0; i < kRegionChoices.size(); ++i) weights[i] = kRegionChoices[i].weight;
    region_choice_ = Pick(rng_, weights);
    plan_tier_ = Pick(rng_, kPlanWeights);
    discount_ = kDiscounts[Pick(rng_, kDiscountWeights)];
    engagement_mean_ = rng_.Normal(0.0, 0.8);
    engagement_ = engagement_mean_ + rng_.Normal(0.0, 0.5);
    loyalty_ = rng_.Normal(0.0, 0.7);
    payment_risk_ = rng_.Normal(0.0, 1.0);
    friction_ = rng_.Normal(0.0, 0.7);
    next_day_ = first_day - kBurnInDays;
    last_use_day_ = next_day_ - 1 - static_cast<int>(rng_.Below(kRingDays));
    SimulateUntil(first_day);
  }

  int phase() const { return phase_; }
  const RegionChoice& region() const { return kRegionChoices[region_choice_]; }

  // Simulates the days before `day` not simulated yet.
  void SimulateUntil(int day) {
    for (; next_day_ < day; ++next_day_) SimulateDay(next_day_);
  }

  // Fills the snapshot taken at the start of `day` (after simulating the days before it) and
  // draws whether the customer churns within the horizon.
  void Observe(int day, const ChurnProcess& process, Snapshot* s, bool* churns) {
    SimulateUntil(day);
    double activity_7d = 0;
    double activity_30d = 0;
    double tickets_7d = 0;
    double tickets_30d = 0;
    double failed_30d = 0;
    for (int back = 1; back <= kRingDays; ++back) {
      const auto i = static_cast<std::size_t>(RingIndex(day - back));
      if (back <= 7) {
        activity_7d += activity_[i];
        tickets_7d += tickets_[i];
      }
      activity_30d += activity_[i];
      tickets_30d += tickets_[i];
      failed_30d += failed_[i];
    }
    const double since_last_use = static_cast<double>(day - 1 - last_use_day_);
    const double usage =
        RoundTo(Sigmoid(0.9 * engagement_ - (dormant_ ? 0.8 : 0.0) + rng_.Normal(0.0, 0.35)), 4);
    const double plan_value = RoundTo(kPlanPrices[plan_tier_] * discount_, 2);

    // Churn risk from what the features show plus the hidden loyalty trait.
    const bool declining = activity_7d * 30.0 < activity_30d * 7.0 * 0.5;
    ChurnInputs in;
    in.since_last_use = since_last_use;
    in.failed_30d = failed_30d;
    in.tickets_30d = tickets_30d;
    in.usage = usage;
    in.plan_value = plan_value;
    in.declining = declining;
    in.region = region().region;
    in.loyalty = loyalty_;
    double logit = 0;
    if (process.world == SimulatedWorld::kAdditive) {
      logit = AdditiveLogit(in);
    } else {
      logit = InteractionsLogit(in) +
              process.drift_per_day * static_cast<double>(day - process.first_day);
    }
    // Only added when a base rate was asked for, so the default draws are the same bits.
    if (process.shift != 0.0) logit += process.shift;
    *churns = rng_.Bernoulli(Sigmoid(logit));

    RawFeatures& f = s->features;
    f.Set(NumericFeature::kActivity7d, activity_7d);
    f.Set(NumericFeature::kActivity30d, activity_30d);
    f.Set(NumericFeature::kTimeSinceLastUseDays, since_last_use);
    f.Set(NumericFeature::kFailedRenewals30d, failed_30d);
    f.Set(NumericFeature::kTickets7d, tickets_7d);
    f.Set(NumericFeature::kTickets30d, tickets_30d);
    f.Set(NumericFeature::kPlanValue, plan_value);
    f.Set(NumericFeature::kUsageScore, usage);
    f.region = region().region;
    // Gaps in the CS platform's data: after the label, so they do not change the outcome.
    for (std::size_t i = 0; i < kNumNumericFeatures; ++i) {
      if (kNullRate[i] > 0.0 && rng_.Bernoulli(kNullRate[i])) {
        f.numeric[i] = std::numeric_limits<double>::quiet_NaN();
      }
    }
  }

 private:
  void SimulateDay(int day) {
    engagement_ = engagement_mean_ + kEngagementPersistence * (engagement_ - engagement_mean_) +
                  kEngagementNoise * rng_.Normal();
    if (rng_.Bernoulli(kShockPerDay)) engagement_ -= 1.2 + 0.8 * rng_.Uniform();
    if (dormant_) {
      if (rng_.Bernoulli(kDormancyExitPerDay)) dormant_ = false;
    } else if (rng_.Bernoulli(Sigmoid(-5.8 - 1.6 * engagement_))) {
      dormant_ = true;
    }
    if (payment_trouble_) {
      if (rng_.Bernoulli(kTroubleExitPerDay)) payment_trouble_ = false;
    } else if (rng_.Bernoulli(0.0012 * std::exp(0.8 * payment_risk_))) {
      payment_trouble_ = true;
    }
    const bool failed = rng_.Bernoulli(payment_trouble_ ? 0.3 : 0.0004);
    const std::int64_t activity =
        dormant_ ? 0 : rng_.Poisson(std::exp(0.6 + 0.8 * std::min(engagement_, 3.0)));
    const std::int64_t tickets = rng_.Poisson(
        0.03 * std::exp(0.6 * friction_) * (failed ? 3.0 : 1.0) * (engagement_ < -1 ? 1.5 : 1.0));
    if (rng_.Bernoulli(kPlanChangePerDay)) {
      if (engagement_ > 0.5 && plan_tier_ + 1 < kPlanPrices.size()) ++plan_tier_;
      if (engagement_ < -0.5 && plan_tier_ > 0) --plan_tier_;
    }
    const auto i = static_cast<std::size_t>(RingIndex(day));
    activity_[i] = static_cast<std::uint16_t>(std::min<std::int64_t>(activity, 0xFFFF));
    tickets_[i] = static_cast<std::uint8_t>(std::min<std::int64_t>(tickets, 0xFF));
    failed_[i] = failed ? 1 : 0;
    if (activity > 0) last_use_day_ = day;
  }

  Rng rng_;
  int phase_ = 0;
  std::size_t region_choice_ = 0;
  std::size_t plan_tier_ = 0;
  double discount_ = 1.0;
  double engagement_mean_ = 0.0;
  double engagement_ = 0.0;
  double loyalty_ = 0.0;
  double payment_risk_ = 0.0;
  double friction_ = 0.0;
  bool dormant_ = false;
  bool payment_trouble_ = false;
  int next_day_ = 0;
  int last_use_day_ = 0;
  std::array<std::uint16_t, kRingDays> activity_{};
  std::array<std::uint8_t, kRingDays> tickets_{};
  std::array<std::uint8_t, kRingDays> failed_{};
};

std::string UserId(std::size_t index, int width) {
  return fmt::format("u_{:0{}}", index + 1, width);
}

}  // namespace

std::string_view SimulatedWorldName(SimulatedWorld world) {
  switch (world) {
    case SimulatedWorld::kAdditive:
      return "additive";
    case SimulatedWorld::kInteractions:
      return "interactions";
  }
  return "unknown";
}

std::optional<SimulatedWorld> ParseSimulatedWorld(std::string_view name) {
  for (const SimulatedWorld w : {SimulatedWorld::kAdditive, SimulatedWorld::kInteractions}) {
    if (name == SimulatedWorldName(w)) return w;
  }
  return std::nullopt;
}

Status SimulatorOptions::Validate() const {
  const auto out_of_range = [](std::string_view name, auto lo, auto hi, auto got) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("{}: expected a whole number in [{}, {}], got {}", name, lo, hi, got));
  };
  if (customers < 1 || customers > 10'000'000) {
    return out_of_range("customers", 1, 10'000'000, customers);
  }
  if (days < 1 || days > 3650) return out_of_range("days", 1, 3650, days);
  if (cadence_days < 1 || cadence_days > 30) {
    return out_of_range("cadence_days", 1, 30, cadence_days);
  }
  if (label_horizon_days < 1 || label_horizon_days > 365) {
    return out_of_range("label_horizon_days", 1, 365, label_horizon_days);
  }
  if (world != SimulatedWorld::kAdditive && world != SimulatedWorld::kInteractions) {
    return MakeError(ErrorCode::kInvalidArgument, "world: expected additive or interactions");
  }
  if (!(base_rate == 0.0 || (base_rate > 0.0 && base_rate <= 0.5))) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("base_rate: expected 0 (the world's own) or a number in (0, "
                                 "0.5], got {}",
                                 base_rate));
  }
  // The first snapshot must not fall before 1970, and the last one must be writable as RFC
  // 3339 (year 9999 at the latest).
  const UnixSeconds span = static_cast<UnixSeconds>(days + label_horizon_days) * kSecondsPerDay;
  constexpr UnixSeconds kLatest = 253402300799;  // 9999-12-31T23:59:59Z
  if (end < span || end > kLatest) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("end: expected a time between {} and {}, got {}",
                                 FormatRfc3339(span), FormatRfc3339(kLatest), end));
  }
  return {};
}

Result<SimulationSummary> Simulate(const SimulatorOptions& options,
                                   const SimulatedSnapshotSink& sink) {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  const int horizon = options.label_horizon_days;
  const int cadence = options.cadence_days;
  // Day offsets are relative to `end`: a snapshot on day d is taken at end + d days. Labeled
  // snapshots need -days < d + horizon <= 0; the ones after them (d <= 0) have no outcome yet.
  const int first_day = -options.days - horizon + 1;

  ChurnProcess process;
  process.world = options.world;
  process.first_day = first_day;
  if (options.world == SimulatedWorld::kInteractions) {
    process.drift_per_day = kInteractionsDrift / static_cast<double>(std::max(1, -first_day));
  }
  if (options.base_rate > 0.0) {
    const bool additive = options.world == SimulatedWorld::kAdditive;
    const double own = additive ? kAdditiveRate : kInteractionsRate;
    const double gain = additive ? kAdditiveShiftGain : kInteractionsShiftGain;
    process.shift = gain * (Logit(options.base_rate) - Logit(own));
  }

  std::vector<Customer> customers;
  customers.reserve(options.customers);
  std::vector<std::vector<std::uint32_t>> by_phase(static_cast<std::size_t>(cadence));
  for (std::size_t c = 0; c < options.customers; ++c) {
    customers.emplace_back(options.seed, c, cadence, first_day);
    by_phase[static_cast<std::size_t>(customers.back().phase())].push_back(
        static_cast<std::uint32_t>(c));
  }
  int id_width = 6;
  for (std::size_t n = options.customers; n >= 1'000'000; n /= 10) ++id_width;

  SimulationSummary summary;
  summary.customers = options.customers;
  Snapshot snapshot;
  for (int day = first_day; day <= 0; ++day) {
    // Customer c is observed on days d with (d + horizon + phase) divisible by the cadence, so
    // its last labeled snapshot has its label day `phase` days before `end`.
    const int phase = (((-day - horizon) % cadence) + cadence) % cadence;
    const UnixSeconds snapshot_ts = options.end + static_cast<UnixSeconds>(day) * kSecondsPerDay;
    const bool labeled = day + horizon <= 0;
    for (const std::uint32_t c : by_phase[static_cast<std::size_t>(phase)]) {
      Customer& customer = customers[c];
      bool churns = false;
      customer.Observe(day, process, &snapshot, &churns);
      snapshot.user_id = UserId(c, id_width);
      snapshot.snapshot_ts = snapshot_ts;
      if (labeled) {
        snapshot.label = static_cast<std::int8_t>(churns ? 1 : 0);
        snapshot.label_ts = snapshot_ts + static_cast<UnixSeconds>(horizon) * kSecondsPerDay;
        ++summary.labeled;
        if (churns) ++summary.positives;
      } else {
        snapshot.label.reset();
        snapshot.label_ts.reset();
      }
      if (summary.records == 0) summary.first_snapshot_ts = snapshot_ts;
      summary.last_snapshot_ts = snapshot_ts;
      ++summary.records;
      if (Status sunk = sink(snapshot, customer.region().text); !sunk) {
        return tl::unexpected(sunk.error());
      }
    }
  }
  return summary;
}

Result<std::vector<Snapshot>> SimulateSnapshots(const SimulatorOptions& options) {
  std::vector<Snapshot> records;
  Result<SimulationSummary> summary =
      Simulate(options, [&records](const Snapshot& s, std::string_view) -> Status {
        records.push_back(s);
        return {};
      });
  if (!summary) return tl::unexpected(summary.error());
  return records;
}

}  // namespace csml
