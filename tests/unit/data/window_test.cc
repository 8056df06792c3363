#include "csml/data/window.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/snapshots.h"

namespace csml {
namespace {

using testing::UserIds;

constexpr UnixSeconds kAsOf = 1756684800;  // 2025-09-01T00:00:00Z
constexpr UnixSeconds kDay = kSecondsPerDay;

Snapshot Labeled(std::string id, UnixSeconds label_ts, std::int8_t label = 1) {
  return testing::SnapshotAt(std::move(id), label_ts - 30 * kDay, label, label_ts);
}

Snapshot Unlabeled(std::string id, std::optional<UnixSeconds> label_ts) {
  return testing::SnapshotAt(std::move(id), kAsOf - 10 * kDay, std::nullopt, label_ts);
}

TEST(SelectWindow, KeepsLabelTsInTheHalfOpenWindowEndingAtAsOf) {
  const std::vector<Snapshot> records = {
      Labeled("at_as_of", kAsOf),
      Labeled("after_as_of", kAsOf + 1),
      Labeled("at_start", kAsOf - 7 * kDay),
      Labeled("just_inside", kAsOf - 7 * kDay + 1),
      Labeled("old", kAsOf - 100 * kDay),
      Unlabeled("pending", std::nullopt),
      Unlabeled("pending_with_due_date", kAsOf - kDay),
      Labeled("middle", kAsOf - 3 * kDay, 0),
  };
  const auto window = SelectWindow(records, {.days = 7, .as_of = kAsOf});
  ASSERT_TRUE(window.has_value()) << window.error().message;
  EXPECT_EQ(UserIds(window->records),
            (std::vector<std::string>{"at_as_of", "just_inside", "middle"}));
  EXPECT_EQ(window->as_of, kAsOf);
  EXPECT_EQ(window->start, kAsOf - 7 * kDay);
  EXPECT_EQ(window->immature, 1u);
  EXPECT_EQ(window->outside_window, 2u);
  EXPECT_EQ(window->unlabeled, 2u);
  EXPECT_EQ(window->records.size() + window->immature + window->outside_window + window->unlabeled,
            records.size());
}

TEST(SelectWindow, TakesAsOfFromTheNewestLabelWhenNotGiven) {
  const std::vector<Snapshot> records = {
      Labeled("a", kAsOf - 40 * kDay),
      Labeled("newest", kAsOf - 2 * kDay),
      Unlabeled("due_later", kAsOf + 50 * kDay),  // a due date is not an outcome
      Labeled("b", kAsOf - 31 * kDay),
  };
  const auto window = SelectWindow(records, {.days = 30, .as_of = std::nullopt});
  ASSERT_TRUE(window.has_value()) << window.error().message;
  EXPECT_EQ(window->as_of, kAsOf - 2 * kDay);
  EXPECT_EQ(UserIds(window->records), (std::vector<std::string>{"newest", "b"}));
  EXPECT_EQ(window->outside_window, 1u);
  EXPECT_EQ(window->unlabeled, 1u);
  EXPECT_EQ(window->immature, 0u);
}

TEST(SelectWindow, ALabelWithoutLabelTsCountsAsUnlabeled) {
  Snapshot s = Labeled("x", kAsOf);
  s.label_ts.reset();
  const auto window = SelectWindow({s}, {.days = 1, .as_of = kAsOf});
  ASSERT_TRUE(window.has_value());
  EXPECT_TRUE(window->records.empty());
  EXPECT_EQ(window->unlabeled, 1u);
}

TEST(SelectWindow, RefusesNonPositiveDays) {
  for (const int days : {0, -1}) {
    const auto window = SelectWindow({Labeled("a", kAsOf)}, {.days = days, .as_of = std::nullopt});
    ASSERT_FALSE(window.has_value());
    EXPECT_EQ(window.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(window.error().message.find("days"), std::string::npos);
  }
}

TEST(SelectWindow, FailsWithoutAsOfWhenNothingIsLabeled) {
  const auto window =
      SelectWindow({Unlabeled("a", std::nullopt)}, {.days = 30, .as_of = std::nullopt});
  ASSERT_FALSE(window.has_value());
  EXPECT_EQ(window.error().code, ErrorCode::kValidation);
}

TEST(NewestLabelTs, IsTheLatestOutcomeTime) {
  const std::vector<Snapshot> records = {Labeled("a", kAsOf - kDay), Labeled("b", kAsOf),
                                         Labeled("c", kAsOf - 5 * kDay)};
  EXPECT_EQ(NewestLabelTs(records), kAsOf);
}

TEST(NewestLabelTs, FailsSayingHowManyRecordsHadNoLabel) {
  const std::vector<Snapshot> records = {Unlabeled("a", kAsOf), Unlabeled("b", std::nullopt)};
  const auto newest = NewestLabelTs(records);
  ASSERT_FALSE(newest.has_value());
  EXPECT_NE(newest.error().message.find("none of 2 records"), std::string::npos)
      << newest.error().message;
}

}  // namespace
}  // namespace csml
