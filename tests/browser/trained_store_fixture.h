// Shared set-up of the `csml test` tests: simulated snapshots, a model trained on the 90 days
// up to 2025-05-01 (so the default 30-day test window up to 2025-06-01 is data the model never
// saw) and a helper that runs the real csml binary. Every run is bounded and logged.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cs_api_fixture.h"
#include "testing/child_process.h"

namespace csml::integration {

inline constexpr char kTrainAsOf[] = "2025-05-01T00:00:00Z";
inline constexpr auto kRunTimeout = std::chrono::seconds(300);

// A temporary directory with snapshots.jsonl and a registry `store` holding one model.
class TrainedStore {
 public:
  TrainedStore() {
    data_ = Simulate(dir_, "snapshots.jsonl", 400, 200);
    if (data_.empty()) {
      problem_ =
          "csml simulate failed: " + testing::ReadWholeFile(dir_.Join("snapshots.jsonl.log"));
      return;
    }
    const testing::RunResult trained =
        Csml({"train", "--input", data_, "--days", "90", "--as-of", kTrainAsOf, "--model-dir",
              store(), "--threads", "1", "--no-tune", "--quiet"});
    if (trained.exit_code != 0) problem_ = "csml train failed: " + trained.output;
  }

  // Empty when the set-up worked; otherwise what failed.
  const std::string& problem() const { return problem_; }
  const testing::TempDir& dir() const { return dir_; }
  const std::string& data() const { return data_; }
  std::string store() const { return dir_.Join("store"); }

  testing::RunResult Csml(const std::vector<std::string>& args) {
    return testing::Run(CsmlBinary(), args, dir_.Join("run-" + std::to_string(++runs_) + ".log"),
                        kRunTimeout);
  }

 private:
  testing::TempDir dir_;
  std::string data_;
  std::string problem_;
  int runs_ = 0;
};

}  // namespace csml::integration
