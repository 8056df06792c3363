#include "testing/trained_model.h"

#include "csml/features/schema.h"
#include "csml/simulate/simulator.h"

namespace csml::testing {

Result<std::vector<Snapshot>> SimulateHistory(std::size_t customers, int days, std::uint64_t seed) {
  SimulatorOptions options;
  options.customers = customers;
  options.days = days;
  options.seed = seed;
  options.end = kSimulationEnd;
  return SimulateSnapshots(options);
}

Result<LabeledMatrix> EncodeLabeled(const std::vector<Snapshot>& records) {
  const std::vector<std::string>& columns = FeatureEncoder::DefaultColumns();
  CSML_ASSIGN_OR_RETURN(const FeatureEncoder encoder, FeatureEncoder::Create(columns));
  std::size_t labeled = 0;
  for (const Snapshot& s : records) labeled += s.label.has_value() ? 1 : 0;
  LabeledMatrix train;
  train.features = DenseMatrix::Missing(labeled, columns.size());
  train.features.column_names = columns;
  std::size_t row = 0;
  for (const Snapshot& s : records) {
    if (!s.label.has_value()) continue;
    encoder.Encode(s.features, train.features.Row(row++));
    train.labels.push_back(static_cast<float>(*s.label));
  }
  return train;
}

Result<std::string> TrainModelJson(const BoosterParams& params, int rounds,
                                   const LabeledMatrix& train) {
  CSML_ASSIGN_OR_RETURN(XgboostBooster booster, XgboostBooster::Create(params, train, nullptr));
  for (int round = 0; round < rounds; ++round) {
    CSML_TRY(booster.UpdateOneIteration(round));
  }
  return booster.SaveJson();
}

BoosterParams LeafWise31Params() {
  BoosterParams p;
  p.tree_method = "hist";
  p.grow_policy = "lossguide";
  p.max_leaves = 31;
  p.max_depth = 0;
  p.eta = 0.05;
  p.min_child_weight = 1.0;
  p.threads = 1;
  return p;
}

}  // namespace csml::testing
