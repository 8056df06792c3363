// The registry's views agree with the server (issue 17): one served-version rule for
// `csml serve`, `csml models list`, `csml predict`; `csml models promote` refusing a version
// the server would refuse (and --force saying so); `csml models gc` removing only garbage.
#include <utime.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "csml/features/schema.h"
#include "serve_fixture.h"

namespace csml::e2e {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using testing::ReadWholeFile;
using testing::RunResult;

class RegistryViewsTest : public ServedRegistryTest {
 protected:
  std::string Publish(int hour, std::optional<std::vector<std::string>> features = {}) {
    auto version = registry_->Publish(hour, std::move(features));
    EXPECT_TRUE(version.has_value()) << version.error().message;
    return version.value_or("");
  }

  // A version whose meta's feature order is not the model's: its bytes match their sha256,
  // and the loader refuses it.
  std::string PublishMismatched(int hour) {
    std::vector<std::string> swapped = FeatureEncoder::DefaultColumns();
    std::swap(swapped[0], swapped[1]);
    return Publish(hour, swapped);
  }

  RunResult Csml(std::vector<std::string> args) {
    args.push_back("--model-dir");
    args.push_back(dir_.Join("models"));
    const std::string name = fmt::format("csml-{}", ++runs_);
    return testing::RunSplit(CsmlBinary(), args, dir_.Join(name + ".out"), dir_.Join(name + ".err"),
                             seconds(60));
  }

  std::string Pointer() const { return ReadWholeFile(dir_.Join("models/SERVING")); }

  int runs_ = 0;
};

TEST_F(RegistryViewsTest, PromoteRefusesAVersionTheServerWouldRefuseAndForceSaysSo) {
  const std::string good = Publish(0);
  ASSERT_TRUE(registry_->Promote(good));
  const std::string mismatched = PublishMismatched(1);
  ASSERT_NO_FATAL_FAILURE(Serve({"--reload-interval-ms", "50"}));
  ASSERT_EQ(HealthzVersion(port()), good);

  const RunResult refused = Csml({"models", "promote", mismatched});
  EXPECT_EQ(refused.exit_code, 1) << refused.output << refused.errors;
  EXPECT_EQ(refused.output, "") << "a refusal prints nothing on stdout";
  EXPECT_NE(refused.errors.find("refused " + mismatched), std::string::npos) << refused.errors;
  EXPECT_NE(refused.errors.find("feature column 0"), std::string::npos) << refused.errors;
  EXPECT_NE(refused.errors.find("--force"), std::string::npos) << refused.errors;
  EXPECT_EQ(Pointer(), good + "\n");

  const RunResult forced = Csml({"models", "promote", mismatched, "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.output << forced.errors;
  EXPECT_NE(forced.output.find("promoted " + mismatched), std::string::npos) << forced.output;
  EXPECT_NE(forced.output.find("with --force, although it fails"), std::string::npos)
      << forced.output;
  EXPECT_EQ(Pointer(), mismatched + "\n");
  // The server refuses it and keeps the old model; list and predict name that same one.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return MetricValue(Metrics(), R"(csml_model_reloads_total{outcome="failed"})") == 1.0;
      },
      seconds(20)))
      << Log();
  EXPECT_EQ(HealthzVersion(port()), good);

  const RunResult list = Csml({"models", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.output << list.errors;
  EXPECT_NE(list.output.find("* " + good), std::string::npos) << list.output;
  EXPECT_EQ(list.output.find("* " + mismatched), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("* served: " + good + " (fallback: SERVING names " + mismatched),
            std::string::npos)
      << list.output;

  const std::string input = dir_.Join("snapshots.jsonl");
  std::ofstream(input) << R"({"userId":"u_1","snapshot_ts":"2025-08-01T00:00:00Z","features":)"
                       << R"({"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,)"
                       << R"("failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,)"
                       << R"("region":"IN","usage_score":0.2},"label":null})"
                       << "\n";
  const RunResult predict = Csml({"predict", "--input", input});
  ASSERT_EQ(predict.exit_code, 0) << predict.output << predict.errors;
  EXPECT_NE(predict.output.find(R"("modelVersion":")" + good + "\""), std::string::npos)
      << predict.output;
  EXPECT_NE(predict.errors.find("csml predict: model " + good + " (fallback: SERVING names " +
                                mismatched + ", which fails"),
            std::string::npos)
      << predict.errors;
  const RunResult pinned = Csml({"predict", "--input", input, "--version", good});
  ASSERT_EQ(pinned.exit_code, 0) << pinned.errors;
  EXPECT_NE(pinned.errors.find("csml predict: model " + good + " (--version)"), std::string::npos)
      << pinned.errors;

  // A version that loads promotes as before; names that could leave the registry stay exit 2.
  const RunResult back = Csml({"models", "promote", good});
  EXPECT_EQ(back.exit_code, 0) << back.output << back.errors;
  EXPECT_NE(back.output.find("promoted " + good + " (before: " + mismatched + ")"),
            std::string::npos)
      << back.output;
  EXPECT_EQ(Csml({"models", "promote", "../x"}).exit_code, 2);
  EXPECT_EQ(Csml({"models", "promote", "risk-xgb-2030-01-01-0000"}).exit_code, 2);
}

TEST_F(RegistryViewsTest, AServerStartedOnABadPointerServesWhatModelsListMarks) {
  const std::string good = Publish(0);
  ASSERT_TRUE(registry_->Promote(good));
  const std::string corrupt = Publish(1);
  {
    std::fstream file(registry_->ModelFile(corrupt),
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(200);
    file.put('7');  // same size, different bytes: only the sha256 can tell
  }
  const std::string newest = Publish(2);  // never promoted: neither serves it
  ASSERT_TRUE(registry_->PointAt(corrupt));

  const RunResult list = Csml({"models", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.output << list.errors;
  EXPECT_NE(list.output.find("* " + good), std::string::npos) << list.output;
  EXPECT_EQ(list.output.find("* " + newest), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("sha256"), std::string::npos) << list.output;

  ASSERT_NO_FATAL_FAILURE(Serve({"--reload-interval-ms", "50"}));
  EXPECT_EQ(HealthzVersion(port()), good) << Log();
  auto detail = Fetch(port(), GetPath("/healthz?detail=1"));
  ASSERT_TRUE(detail.has_value());
  EXPECT_NE(detail->body.find(R"("degraded":true)"), std::string::npos) << detail->body;
  const std::string log = Log();
  EXPECT_NE(log.find("refused: loading model " + corrupt), std::string::npos) << log;
  EXPECT_NE(log.find("serving " + good + " instead (fallback)"), std::string::npos) << log;

  // Promoting a version that loads ends the fallback.
  ASSERT_TRUE(registry_->Promote(newest));
  ASSERT_TRUE(WaitUntil([&] { return HealthzVersion(port()) == newest; }, seconds(20))) << Log();
}

TEST_F(RegistryViewsTest, GcListsByDefaultAndRemovesOnlyGarbageWithApply) {
  const std::string served = Publish(0);
  const std::string other = Publish(1);
  ASSERT_TRUE(registry_->Promote(served));
  const fs::path models = dir_.Join("models");
  const auto write_aged = [&](const std::string& name, long age_s) {
    std::ofstream(models / name) << "leftover";
    const auto when = static_cast<time_t>(NowUtc() - age_s);
    const struct utimbuf times { when, when };
    ASSERT_EQ(::utime((models / name).c_str(), &times), 0);
  };
  // A killed publish's temporary, a killed publish's model without meta (both two hours old),
  // and a temporary a publish running now is writing.
  write_aged(".tmp-4242-00000000000000aa.model.json", 7200);
  write_aged("risk-xgb-2025-08-22-1500.model.json", 7200);
  write_aged(".tmp-4243-00000000000000bb.meta.json", 10);
  for (const std::string& v : {served, other}) {  // old, and referenced
    for (const char* suffix : {".model.json", ".meta.json"}) {
      const auto when = static_cast<time_t>(NowUtc() - 7200);
      const struct utimbuf times { when, when };
      ASSERT_EQ(::utime((models / (v + suffix)).c_str(), &times), 0);
    }
  }
  std::vector<std::string> before;
  for (const auto& e : fs::directory_iterator(models)) before.push_back(e.path().filename());
  std::sort(before.begin(), before.end());
  const auto files = [&] {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(models)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  };

  const RunResult dry = Csml({"models", "gc"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output << dry.errors;
  EXPECT_NE(dry.output.find("would remove .tmp-4242-00000000000000aa.model.json (temporary"),
            std::string::npos)
      << dry.output;
  EXPECT_NE(dry.output.find("would remove risk-xgb-2025-08-22-1500.model.json (orphan model"),
            std::string::npos)
      << dry.output;
  EXPECT_NE(dry.output.find("left .tmp-4243-00000000000000bb.meta.json"), std::string::npos)
      << dry.output;
  EXPECT_NE(dry.output.find("2 files"), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("dry run"), std::string::npos) << dry.output;
  EXPECT_EQ(files(), before) << "a dry run removes nothing";

  // A server running on the registry never collects: the files stay while it serves.
  ASSERT_NO_FATAL_FAILURE(Serve({"--reload-interval-ms", "50"}));
  ASSERT_EQ(HealthzVersion(port()), served);
  EXPECT_EQ(files(), before);

  const RunResult applied = Csml({"models", "gc", "--apply"});
  ASSERT_EQ(applied.exit_code, 0) << applied.output << applied.errors;
  EXPECT_NE(applied.output.find("removed 2 files"), std::string::npos) << applied.output;
  std::vector<std::string> expected;
  for (const std::string& name : before) {
    if (name != ".tmp-4242-00000000000000aa.model.json" &&
        name != "risk-xgb-2025-08-22-1500.model.json") {
      expected.push_back(name);
    }
  }
  EXPECT_EQ(files(), expected);
  EXPECT_EQ(HealthzVersion(port()), served);
  const RunResult list = Csml({"models", "list"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.output.find("* " + served), std::string::npos) << list.output;
  EXPECT_NE(list.output.find(other), std::string::npos) << list.output;

  // A shorter bound reaches the young temporary; a bad bound is a usage error.
  const RunResult young = Csml({"models", "gc", "--older-than", "1s", "--apply"});
  ASSERT_EQ(young.exit_code, 0) << young.output << young.errors;
  EXPECT_FALSE(fs::exists(models / ".tmp-4243-00000000000000bb.meta.json"));
  const RunResult bad = Csml({"models", "gc", "--older-than", "soon"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.errors.find("--older-than"), std::string::npos) << bad.errors;
}

}  // namespace
}  // namespace csml::e2e
