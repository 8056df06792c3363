// libFuzzer target: the model-file loaders (XGBoost JSON and LightGBM text). Any bytes must
// load or be refused with an error, never crash, leak or hit undefined behaviour; a model
// that loads must score an all-missing row and a row of zeros to a probability.
//
// Run with: scripts/fuzz.sh forest_loader_fuzzer (see fuzz/CMakeLists.txt).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <vector>

#include "csml/predict/forest.h"
#include "csml/predict/forest_predictor.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Both loaders see every input, whatever the format detection would pick.
  (void)csml::LoadXgboostJson(bytes);
  (void)csml::LoadLightgbmText(bytes);
  csml::Result<csml::Forest> forest = csml::LoadForest(bytes);
  if (!forest) return 0;
  const std::size_t columns = forest->num_features();
  if (columns > 4096) return 0;  // a valid but huge schema: nothing more to learn here
  const csml::ForestPredictor predictor(std::move(*forest));
  for (const double fill : {std::numeric_limits<double>::quiet_NaN(), 0.0, 1e9}) {
    const std::vector<double> row(columns, fill);
    const csml::Result<double> risk = predictor.PredictRisk(row);
    if (risk && !(*risk >= 0.0 && *risk <= 1.0) && !std::isnan(*risk)) {
      std::fprintf(stderr, "a loaded model scored %g, not a probability\n", *risk);
      std::abort();
    }
  }
  return 0;
}
