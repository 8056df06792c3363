#include "csml/validation/source_window.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/data/window.h"

namespace csml {
namespace {

constexpr UnixSeconds kAsOf = 1756684800;  // 2025-09-01T00:00:00Z
constexpr UnixSeconds kDay = kSecondsPerDay;

Snapshot Make(std::string id, UnixSeconds snapshot_ts, std::optional<std::int8_t> label,
              std::optional<UnixSeconds> label_ts) {
  Snapshot s;
  s.user_id = std::move(id);
  s.snapshot_ts = snapshot_ts;
  s.label = label;
  s.label_ts = label_ts;
  return s;
}

std::vector<std::string> Ids(const std::vector<Snapshot>& records) {
  std::vector<std::string> ids;
  for (const Snapshot& s : records) ids.push_back(s.user_id);
  return ids;
}

TEST(SourceWindow, KeepsOutcomesLearnedInTheWindowAndSnapshotsWithoutOutcomeTakenInIt) {
  std::vector<Snapshot> records = {
      Make("label_at_as_of", kAsOf - 30 * kDay, 1, kAsOf),
      Make("label_at_start", kAsOf - 40 * kDay, 0, kAsOf - 10 * kDay),
      Make("label_before", kAsOf - 45 * kDay, 0, kAsOf - 10 * kDay - 1),
      Make("pending_recent", kAsOf - 2 * kDay, std::nullopt, std::nullopt),
      Make("pending_old", kAsOf - 10 * kDay, std::nullopt, std::nullopt),
      Make("immature_recent", kAsOf - 5 * kDay, 1, kAsOf + 25 * kDay),
      Make("snapshot_after_as_of", kAsOf + 1, std::nullopt, std::nullopt),
  };
  const SourceWindow window = MakeSourceWindow(records, 10, kAsOf).value();
  EXPECT_EQ(window.start, kAsOf - 10 * kDay);
  const std::size_t dropped = KeepSourceWindow(window, &records);
  EXPECT_EQ(dropped, 4u);
  EXPECT_EQ(Ids(records),
            (std::vector<std::string>{"label_at_as_of", "pending_recent", "immature_recent"}));
}

TEST(SourceWindow, TrainsOnTheSameRecordsAsSelectWindow) {
  std::vector<Snapshot> records;
  for (int d = 0; d < 200; ++d) {
    const UnixSeconds t = kAsOf - d * kDay;
    records.push_back(Make("a" + std::to_string(d), t - 30 * kDay, d % 2, t));
    records.push_back(Make("p" + std::to_string(d), t, std::nullopt, std::nullopt));
  }
  std::vector<Snapshot> served = records;
  const SourceWindow window = MakeSourceWindow(served, 90, std::nullopt).value();
  EXPECT_EQ(window.as_of, kAsOf);
  KeepSourceWindow(window, &served);

  WindowOptions options;
  options.days = 90;
  options.as_of = window.as_of;
  const WindowedSnapshots from_source = SelectWindow(served, options).value();
  const WindowedSnapshots from_all = SelectWindow(records, options).value();
  EXPECT_EQ(Ids(from_source.records), Ids(from_all.records));
  EXPECT_EQ(from_source.outside_window, 0u);
  EXPECT_EQ(from_source.unlabeled, 90u);  // pending snapshots of the 90 days
}

TEST(SourceWindow, AsOfDefaultsToNewestLabelThenNewestSnapshot) {
  std::vector<Snapshot> records = {Make("p", kAsOf, std::nullopt, std::nullopt)};
  EXPECT_EQ(MakeSourceWindow(records, 7, std::nullopt)->as_of, kAsOf);
  records.push_back(Make("l", kAsOf - 60 * kDay, 1, kAsOf - 30 * kDay));
  EXPECT_EQ(MakeSourceWindow(records, 7, std::nullopt)->as_of, kAsOf - 30 * kDay);
  EXPECT_EQ(MakeSourceWindow({}, 7, std::nullopt)->as_of, 0);
}

TEST(SourceWindow, RefusesDaysBelowOne) {
  EXPECT_EQ(MakeSourceWindow({}, 0, kAsOf).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace csml
