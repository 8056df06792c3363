// The served-version rule (Registry::ChooseServed) with a check the test controls, and
// ResolveServed, the rule with the registry's own check (a whole version).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/registry/registry.h"

namespace csml {
namespace {

namespace fs = std::filesystem;

constexpr UnixSeconds kAug22At0900 = 1755853200;  // 2025-08-22T09:00:00Z

class ServedChoiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("csml-served-choice-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    auto r = Registry::Open(dir_, RegistryOpenMode::kCreateIfMissing);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    registry_.emplace(std::move(*r));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Publish(int minute) {
    ModelMeta m;
    m.algo = "xgb";
    m.created_at = kAug22At0900 + 60 * minute;
    m.features = {"activity_7d", "usage_score"};
    m.base_rate = 0.25;
    auto meta = registry_->Publish("bytes-" + std::to_string(minute), std::move(m));
    EXPECT_TRUE(meta.has_value()) << meta.error().message;
    return meta ? meta->version : std::string();
  }

  // A check that refuses the versions in broken_, and records what it was asked.
  VersionCheck Check() {
    return [this](const std::string& version) -> Status {
      asked_.push_back(version);
      if (broken_.count(version) > 0) {
        return MakeError(ErrorCode::kValidation, "forest: broken on purpose");
      }
      return {};
    };
  }

  const Registry& registry() const { return *registry_; }

  fs::path dir_;
  std::optional<Registry> registry_;
  std::set<std::string> broken_;
  std::vector<std::string> asked_;
};

TEST_F(ServedChoiceTest, ThePointersVersionWhenItPasses) {
  const std::string a = Publish(0);
  const std::string b = Publish(1);
  ASSERT_TRUE(registry().Promote(a));
  auto choice = registry().ChooseServed(Check());
  ASSERT_TRUE(choice.has_value()) << choice.error().message;
  EXPECT_EQ(choice->version, a);
  EXPECT_EQ(choice->by, ServedBy::kPointer);
  EXPECT_EQ(ServedByName(choice->by), "pointer");
  EXPECT_NE(choice->reason.find("SERVING names " + a), std::string::npos) << choice->reason;
  EXPECT_EQ(asked_, std::vector<std::string>{a}) << "b, newer, is never asked about";
  (void)b;
}

TEST_F(ServedChoiceTest, APointerThatFailsFallsBackToTheVersionPromotedBeforeItNotTheNewest) {
  const std::string a = Publish(0);
  const std::string b = Publish(1);
  const std::string c = Publish(2);
  const std::string newest = Publish(3);  // never promoted
  ASSERT_TRUE(registry().Promote(a));
  ASSERT_TRUE(registry().Promote(b));
  ASSERT_TRUE(registry().Promote(c));
  broken_ = {c};
  auto choice = registry().ChooseServed(Check());
  ASSERT_TRUE(choice.has_value()) << choice.error().message;
  EXPECT_EQ(choice->version, b);
  EXPECT_EQ(choice->by, ServedBy::kFallback);
  EXPECT_NE(choice->reason.find("SERVING names " + c + ", which fails: forest: broken on purpose"),
            std::string::npos)
      << choice->reason;
  EXPECT_NE(choice->reason.find("fell back to " + b), std::string::npos) << choice->reason;

  // Two broken in a row: the one before both, and the reason counts the one skipped.
  broken_ = {b, c};
  choice = registry().ChooseServed(Check());
  ASSERT_TRUE(choice.has_value()) << choice.error().message;
  EXPECT_EQ(choice->version, a);
  EXPECT_NE(choice->reason.find("1 in between fails"), std::string::npos) << choice->reason;

  // Every promoted version broken: nothing, rather than the unpromoted newest.
  broken_ = {a, b, c};
  asked_.clear();
  auto none = registry().ChooseServed(Check());
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_NE(none.error().message.find("no version promoted before it passes"), std::string::npos)
      << none.error().message;
  EXPECT_EQ(std::set<std::string>(asked_.begin(), asked_.end()), (std::set<std::string>{a, b, c}));
  EXPECT_EQ(std::count(asked_.begin(), asked_.end(), newest), 0);
}

TEST_F(ServedChoiceTest, RolledBackVersionsAreNotFallbacks) {
  const std::string a = Publish(0);
  const std::string b = Publish(1);
  const std::string c = Publish(2);
  ASSERT_TRUE(registry().Promote(a));
  ASSERT_TRUE(registry().Promote(b));
  ASSERT_TRUE(registry().Promote(c));
  ASSERT_EQ(registry().Rollback().value(), b);  // c was rolled back: the stack is a, b
  broken_ = {b};
  auto choice = registry().ChooseServed(Check());
  ASSERT_TRUE(choice.has_value()) << choice.error().message;
  EXPECT_EQ(choice->version, a);
}

TEST_F(ServedChoiceTest, AnUnreadablePointerFallsBackToTheHistory) {
  const std::string a = Publish(0);
  const std::string b = Publish(1);
  ASSERT_TRUE(registry().Promote(a));
  std::ofstream(dir_ / "SERVING", std::ios::trunc) << "../../etc/passwd\n";
  auto choice = registry().ChooseServed(Check());
  ASSERT_TRUE(choice.has_value()) << choice.error().message;
  EXPECT_EQ(choice->version, a);
  EXPECT_EQ(choice->by, ServedBy::kFallback);
  EXPECT_NE(choice->reason.find("SERVING cannot be read"), std::string::npos) << choice->reason;
  (void)b;
}

TEST_F(ServedChoiceTest, NothingPromotedIsTheNewestThatPasses) {
  EXPECT_EQ(registry().ChooseServed(Check()).error().code, ErrorCode::kNotFound);
  const std::string a = Publish(0);
  const std::string b = Publish(1);
  auto choice = registry().ChooseServed(Check());
  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->version, b);
  EXPECT_EQ(choice->by, ServedBy::kNewest);
  EXPECT_NE(choice->reason.find("nothing promoted"), std::string::npos) << choice->reason;

  broken_ = {b};
  choice = registry().ChooseServed(Check());
  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->version, a);
  EXPECT_NE(choice->reason.find("1 newer fails, the newest: forest: broken on purpose"),
            std::string::npos)
      << choice->reason;

  broken_ = {a, b};
  auto none = registry().ChooseServed(Check());
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
}

TEST_F(ServedChoiceTest, ResolveServedChecksThatTheVersionIsWhole) {
  const std::string a = Publish(0);
  const std::string b = Publish(1);
  ASSERT_TRUE(registry().Promote(a));
  ASSERT_TRUE(registry().Promote(b));
  EXPECT_EQ(registry().ResolveServed().value(), b);
  fs::resize_file(dir_ / (b + ".model.json"), 1);  // not the recorded size
  EXPECT_EQ(registry().ResolveServed().value(), a);
}

}  // namespace
}  // namespace csml
