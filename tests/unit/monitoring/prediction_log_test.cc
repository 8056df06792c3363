#include "csml/monitoring/prediction_log.h"

#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "csml/core/bounded_queue.h"
#include "csml/monitoring/prediction_log_reader.h"
#include "testing/files.h"

namespace csml {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

PredictionEvent MakeEvent(int i, std::string_view request_id) {
  PredictionEvent e;
  e.unix_ms = 1'796'236'407'000 + i;
  e.request_id = request_id;
  e.user_id = "u_001";
  e.model_version = "risk-xgb-test";
  e.risk = 0.7312;
  e.tier = Tier::kHigh;
  e.reasons.Add(Reason::kInactive14d);
  e.reasons.Add(Reason::kLowFeatureUsage);
  e.latency_us = 42 + i;
  e.features.Set(NumericFeature::kActivity7d, 3);
  e.features.Set(NumericFeature::kUsageScore, 0.12);
  e.features.region = Region::kUS;
  return e;
}

PredictionLogOptions SmallOptions(const std::string& dir) {
  PredictionLogOptions o;
  o.dir = dir;
  o.queue_capacity = 8192;
  o.flush_interval = 20ms;
  return o;
}

std::vector<PredictionRecord> ReadAll(const std::string& dir, PredictionLogReadStats* stats) {
  std::vector<PredictionRecord> out;
  Result<PredictionLogReadStats> read =
      ReadPredictionLog(dir, [&](const PredictionRecord& r) { out.push_back(r); });
  EXPECT_TRUE(read) << read.error().message;
  if (read && stats != nullptr) *stats = *read;
  return out;
}

std::size_t CountFiles(const std::string& dir, std::string_view suffix) {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix) ++n;
  }
  return n;
}

TEST(PredictionRecordTest, JsonLineReadsBackAsTheSameRecord) {
  PredictionEvent event = MakeEvent(7, "req-7");
  event.endpoint = ScoreEndpoint::kScoreBatch;
  event.batch_index = 3;
  std::string line;
  AppendPredictionJsonLine(&line, event);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_NE(line.find("\"schema\":2,\"ts\":\"2026-12-02T"), std::string::npos) << line;
  EXPECT_NE(line.find("\"activity_30d\":null"), std::string::npos) << line;
  EXPECT_NE(line.find("\"reasons\":[\"inactive_14d\",\"low_feature_usage\"]"), std::string::npos)
      << line;
  line.pop_back();
  PredictionLineParser parser;
  PredictionRecord record;
  ASSERT_TRUE(parser.Parse(line, &record));
  EXPECT_EQ(record.unix_ms, event.unix_ms);
  EXPECT_EQ(record.request_id, "req-7");
  EXPECT_EQ(record.endpoint, ScoreEndpoint::kScoreBatch);
  EXPECT_EQ(record.batch_index, 3);
  EXPECT_EQ(record.user_id, "u_001");
  EXPECT_EQ(record.model_version, "risk-xgb-test");
  EXPECT_DOUBLE_EQ(record.risk, 0.7312);
  EXPECT_EQ(record.tier, Tier::kHigh);
  EXPECT_EQ(record.reasons, event.reasons);
  EXPECT_EQ(record.latency_us, 49);
  EXPECT_EQ(record.features.region, Region::kUS);
  EXPECT_DOUBLE_EQ(record.features.Get(NumericFeature::kUsageScore), 0.12);
  EXPECT_TRUE(std::isnan(record.features.Get(NumericFeature::kActivity30d)));
}

TEST(PredictionRecordTest, JsonLineBytesArePinned) {
  // The documented schema, byte for byte (a warehouse loader keys on it): a change to the
  // formatter must not change a line. Escapes, a null region, a negative index and the
  // second boundary of the timestamp cache included, and a tenant's shadow record.
  PredictionEvent event = MakeEvent(999, "r\"q\\1");
  event.user_id = "u\n\x01";
  event.features.region = Region::kMissing;
  event.features.Set(NumericFeature::kPlanValue, 1e21);
  event.features.Set(NumericFeature::kTickets7d, 0.1 + 0.2);
  std::string line;
  AppendPredictionJsonLine(&line, event);
  event.unix_ms += 1;  // 1796236408000: the next second
  event.endpoint = ScoreEndpoint::kScoreBatch;
  event.batch_index = 0;
  event.features.region = Region::kOther;
  AppendPredictionJsonLine(&line, event);
  event.model_version = "acme/risk-xgb-test";  // a tenant's shadow version
  event.tenant = "acme";
  event.role = PredictionRole::kShadow;
  AppendPredictionJsonLine(&line, event);
  const std::string pinned =
      R"({"schema":2,"ts":"2026-12-02T18:33:27.999Z","unix_ms":1796236407999,"request_id":"r\"q\\1","endpoint":"score","batch_index":null,"user_id":"u\n\u0001","model_version":"risk-xgb-test","tenant":null,"role":"served","risk":0.7312,"tier":"high","reasons":["inactive_14d","low_feature_usage"],"latency_us":1041,"features":{"activity_7d":3,"activity_30d":null,"time_since_last_use_days":null,"failed_renewals_30d":null,"tickets_7d":0.30000000000000004,"tickets_30d":null,"plan_value":1e+21,"usage_score":0.12,"region":null}}
)"
      R"({"schema":2,"ts":"2026-12-02T18:33:28.000Z","unix_ms":1796236408000,"request_id":"r\"q\\1","endpoint":"score_batch","batch_index":0,"user_id":"u\n\u0001","model_version":"risk-xgb-test","tenant":null,"role":"served","risk":0.7312,"tier":"high","reasons":["inactive_14d","low_feature_usage"],"latency_us":1041,"features":{"activity_7d":3,"activity_30d":null,"time_since_last_use_days":null,"failed_renewals_30d":null,"tickets_7d":0.30000000000000004,"tickets_30d":null,"plan_value":1e+21,"usage_score":0.12,"region":"other"}}
)"
      R"({"schema":2,"ts":"2026-12-02T18:33:28.000Z","unix_ms":1796236408000,"request_id":"r\"q\\1","endpoint":"score_batch","batch_index":0,"user_id":"u\n\u0001","model_version":"acme/risk-xgb-test","tenant":"acme","role":"shadow","risk":0.7312,"tier":"high","reasons":["inactive_14d","low_feature_usage"],"latency_us":1041,"features":{"activity_7d":3,"activity_30d":null,"time_since_last_use_days":null,"failed_renewals_30d":null,"tickets_7d":0.30000000000000004,"tickets_30d":null,"plan_value":1e+21,"usage_score":0.12,"region":"other"}}
)";
  EXPECT_EQ(line, pinned);
}

TEST(PredictionRecordTest, TenantAndRoleReadBack) {
  PredictionEvent event = MakeEvent(1, "req-1");
  event.model_version = "acme/risk-xgb-test";
  event.tenant = "acme";
  for (const PredictionRole role :
       {PredictionRole::kServed, PredictionRole::kCanary, PredictionRole::kShadow}) {
    event.role = role;
    std::string line;
    AppendPredictionJsonLine(&line, event);
    line.pop_back();
    PredictionLineParser parser;
    PredictionRecord record;
    ASSERT_TRUE(parser.Parse(line, &record)) << line;
    EXPECT_EQ(record.tenant, "acme");
    EXPECT_EQ(record.role, role) << line;
    EXPECT_EQ(record.model_version, "acme/risk-xgb-test");
    const PredictionEvent view = record.View();
    EXPECT_EQ(view.tenant, "acme");
    EXPECT_EQ(view.role, role);
  }
  EXPECT_EQ(PredictionRoleName(PredictionRole::kServed), "served");
  EXPECT_EQ(PredictionRoleName(PredictionRole::kCanary), "canary");
  EXPECT_EQ(PredictionRoleName(PredictionRole::kShadow), "shadow");
}

TEST(PredictionRecordTest, ReadsASchemaOneLineAsServedWithoutTenant) {
  // A line as schema 1 wrote it (before tenants and roles).
  const std::string line =
      R"({"schema":1,"ts":"2026-12-02T18:33:27.999Z","unix_ms":1796236407999,"request_id":"r1","endpoint":"score","batch_index":null,"user_id":"u_001","model_version":"risk-xgb-test","risk":0.7312,"tier":"high","reasons":["inactive_14d"],"latency_us":41,"features":{"activity_7d":3,"region":"US"}})";
  PredictionLineParser parser;
  PredictionRecord record;
  record.tenant = "left over";  // a reused record: the parser clears it
  record.role = PredictionRole::kShadow;
  ASSERT_TRUE(parser.Parse(line, &record));
  EXPECT_EQ(record.tenant, "");
  EXPECT_EQ(record.role, PredictionRole::kServed);
  EXPECT_EQ(record.model_version, "risk-xgb-test");
  EXPECT_EQ(record.user_id, "u_001");
}

TEST(PredictionRecordTest, RefusesAnUnknownRoleAndASchemaTwoLineWithoutRole) {
  std::string line;
  AppendPredictionJsonLine(&line, MakeEvent(1, "r"));
  line.pop_back();
  PredictionLineParser parser;
  PredictionRecord record;
  std::string unknown = line;
  unknown.replace(unknown.find("\"role\":\"served\""), 15, "\"role\":\"mirror\"");
  const Status bad_role = parser.Parse(unknown, &record);
  ASSERT_FALSE(bad_role) << unknown;
  EXPECT_EQ(bad_role.error().code, ErrorCode::kParse);
  EXPECT_NE(bad_role.error().message.find("role"), std::string::npos) << bad_role.error().message;
  std::string no_role = line;
  no_role.erase(no_role.find(",\"role\":\"served\""), 16);
  const Status missing = parser.Parse(no_role, &record);
  ASSERT_FALSE(missing) << no_role;
  EXPECT_EQ(missing.error().code, ErrorCode::kParse);
}

TEST(PredictionRecordTest, RefusesANewerSchemaAndNonRecords) {
  PredictionLineParser parser;
  PredictionRecord record;
  std::string line;
  AppendPredictionJsonLine(&line, MakeEvent(1, "r"));
  line.pop_back();
  line.replace(line.find("\"schema\":2"), 10, "\"schema\":3");
  const Status newer = parser.Parse(line, &record);
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code, ErrorCode::kValidation);
  EXPECT_FALSE(parser.Parse("{\"schema\":1}", &record));
  EXPECT_FALSE(parser.Parse("not json", &record));
}

TEST(BoundedQueueTest, AcceptsExactlyItsCapacityFromManyThreadsAndCountsTheRest) {
  BoundedQueue<int> queue(1024);
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        const int value = t * 1000 + i;
        if (queue.TryPush([value](int& slot) { slot = value; })) {
          accepted.fetch_add(1);
        } else {
          refused.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 1024);
  EXPECT_EQ(refused.load(), 4000 - 1024);
  EXPECT_EQ(queue.ApproxSize(), 1024u);
  std::set<int> seen;
  while (queue.TryPop([&](const int& v) { seen.insert(v); })) {
  }
  EXPECT_EQ(seen.size(), 1024u);
  EXPECT_EQ(queue.ApproxSize(), 0u);
}

TEST(PredictionLogTest, LosesNothingBelowTheQueueCapacity) {
  testing::TempDir dir;
  {
    Result<std::unique_ptr<PredictionLog>> log = PredictionLog::Create(SmallOptions(dir.path()));
    ASSERT_TRUE(log) << log.error().message;
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 1000; ++i) {
          const std::string id = std::to_string(t) + "-" + std::to_string(i);
          EXPECT_TRUE((*log)->Append(MakeEvent(i, id)));
        }
      });
    }
    for (std::thread& t : threads) t.join();
    const PredictionLogStats stats = (*log)->Stats();
    EXPECT_EQ(stats.appended, 4000u);
    EXPECT_EQ(stats.dropped_queue_full, 0u);
  }
  PredictionLogReadStats read;
  const std::vector<PredictionRecord> records = ReadAll(dir.path(), &read);
  std::set<std::string> ids;
  for (const PredictionRecord& r : records) ids.insert(r.request_id);
  EXPECT_EQ(records.size(), 4000u);
  EXPECT_EQ(ids.size(), 4000u);
  EXPECT_EQ(read.torn_lines, 0u);
  EXPECT_EQ(read.bad_lines, 0u);
  EXPECT_EQ(CountFiles(dir.path(), ".jsonl"), 0u) << "closed segments are compressed";
  EXPECT_EQ(CountFiles(dir.path(), ".jsonl.zst"), 1u);
}

TEST(PredictionLogTest, DropCounterIsExactWhenTheQueueOverflows) {
  testing::TempDir dir;
  PredictionLogStats stats;
  std::atomic<std::uint64_t> refused{0};
  {
    PredictionLogOptions options = SmallOptions(dir.path());
    options.queue_capacity = 16;
    Result<std::unique_ptr<PredictionLog>> log = PredictionLog::Create(options);
    ASSERT_TRUE(log) << log.error().message;
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 5000; ++i) {
          if (!(*log)->Append(MakeEvent(i, "r"))) refused.fetch_add(1);
        }
      });
    }
    for (std::thread& t : threads) t.join();
    stats = (*log)->Stats();
  }
  EXPECT_GT(stats.dropped_queue_full, 0u) << "16 slots cannot hold 20,000 fast appends";
  EXPECT_EQ(stats.dropped_queue_full, refused.load());
  EXPECT_EQ(stats.appended + stats.dropped_queue_full, 20000u);
  const std::vector<PredictionRecord> records = ReadAll(dir.path(), nullptr);
  EXPECT_EQ(records.size(), stats.appended) << "every record taken into the queue is written";
}

TEST(PredictionLogTest, RotatesBySizeAndCompressesClosedSegments) {
  testing::TempDir dir;
  PredictionLogStats stats;
  {
    PredictionLogOptions options = SmallOptions(dir.path());
    options.segment_max_bytes = 8192;
    Result<std::unique_ptr<PredictionLog>> log = PredictionLog::Create(options);
    ASSERT_TRUE(log) << log.error().message;
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE((*log)->Append(MakeEvent(i, std::to_string(i))));
      // A little at a time, so the writer sees the size in several drains.
      if (i % 20 == 19) std::this_thread::sleep_for(15ms);
    }
    stats = (*log)->Stats();
  }
  PredictionLogReadStats read;
  const std::vector<PredictionRecord> records = ReadAll(dir.path(), &read);
  EXPECT_EQ(records.size(), 300u);
  EXPECT_GE(read.compressed_files, 3u) << "300 lines of ~500 bytes make several 8 KiB segments";
  EXPECT_EQ(read.files, read.compressed_files);
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_EQ(name.rfind("predictions-", 0), 0u) << name;
    EXPECT_NE(name.find("-" + std::to_string(::getpid()) + "-"), std::string::npos)
        << "names carry the pid: " << name;
    EXPECT_LT(fs::file_size(entry.path()), 8192u) << "compressed";
  }
}

TEST(PredictionLogTest, RotatesByAge) {
  testing::TempDir dir;
  {
    PredictionLogOptions options = SmallOptions(dir.path());
    options.segment_max_age = std::chrono::seconds(1);
    Result<std::unique_ptr<PredictionLog>> log = PredictionLog::Create(options);
    ASSERT_TRUE(log) << log.error().message;
    ASSERT_TRUE((*log)->Append(MakeEvent(1, "a")));
    const auto until = std::chrono::steady_clock::now() + 5s;
    while ((*log)->Stats().segments_compressed == 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ((*log)->Stats().segments_compressed, 1u);
    ASSERT_TRUE((*log)->Append(MakeEvent(2, "b")));
  }
  EXPECT_EQ(ReadAll(dir.path(), nullptr).size(), 2u);
  EXPECT_EQ(CountFiles(dir.path(), ".jsonl.zst"), 2u);
}

TEST(PredictionLogTest, RetentionKeepsTheDirectoryUnderItsBudgetAndRemovesOldSegments) {
  testing::TempDir dir;
  // Another replica's old compressed segment and its long-closed plain one.
  const std::string old_zst = dir.Join("predictions-other-1-20200101T000000Z-000001.jsonl.zst");
  const std::string old_plain = dir.Join("predictions-other-1-20200101T000000Z-000002.jsonl");
  const std::string foreign = dir.Join("notes.txt");
  for (const std::string& p : {old_zst, old_plain, foreign}) std::ofstream(p) << "x\n";
  const timeval past[2] = {{1'577'836'800, 0}, {1'577'836'800, 0}};
  ASSERT_EQ(::utimes(old_zst.c_str(), past), 0);
  ASSERT_EQ(::utimes(old_plain.c_str(), past), 0);
  PredictionLogStats stats;
  {
    PredictionLogOptions options = SmallOptions(dir.path());
    options.segment_max_bytes = 8192;
    options.compress = false;  // plain segments: sizes are predictable
    options.retention_bytes = std::uint64_t{3} * 8192;
    options.retention_age = std::chrono::seconds(86400);
    Result<std::unique_ptr<PredictionLog>> log = PredictionLog::Create(options);
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_FALSE(fs::exists(old_zst)) << "older than retention_age";
    EXPECT_FALSE(fs::exists(old_plain)) << "older than retention_age";
    for (int i = 0; i < 600; ++i) {
      ASSERT_TRUE((*log)->Append(MakeEvent(i, std::to_string(i))));
      if (i % 20 == 19) std::this_thread::sleep_for(15ms);
    }
    stats = (*log)->Stats();
  }
  EXPECT_TRUE(fs::exists(foreign)) << "only segment files are removed";
  std::uint64_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    if (entry.path() != foreign) total += fs::file_size(entry.path());
  }
  EXPECT_GT(stats.segments_removed, 2u);
  // The budget holds after each rotation; the open segment may add up to one more.
  EXPECT_LE(total, std::uint64_t{4} * 8192 + 4096);
  const std::vector<PredictionRecord> records = ReadAll(dir.path(), nullptr);
  EXPECT_LT(records.size(), 600u);
  EXPECT_GT(records.size(), 0u);
  EXPECT_EQ(records.back().request_id, "599") << "the newest records are kept";
}

TEST(PredictionLogReaderTest, SkipsAndCountsATornLastLineAndBadLines) {
  testing::TempDir dir;
  std::string text;
  AppendPredictionJsonLine(&text, MakeEvent(1, "a"));
  text += "{\"schema\":1,\"oops\":true}\n";
  AppendPredictionJsonLine(&text, MakeEvent(2, "b"));
  std::string torn;
  AppendPredictionJsonLine(&torn, MakeEvent(3, "c"));
  text += torn.substr(0, torn.size() / 2);
  std::ofstream(dir.Join("predictions-h-1-20260101T000000Z-000001.jsonl")) << text;
  PredictionLogReadStats stats;
  const std::vector<PredictionRecord> records = ReadAll(dir.path(), &stats);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].request_id, "a");
  EXPECT_EQ(records[1].request_id, "b");
  EXPECT_EQ(stats.torn_lines, 1u);
  EXPECT_EQ(stats.bad_lines, 1u);
  EXPECT_NE(stats.first_bad_line_error.find("000001.jsonl"), std::string::npos)
      << stats.first_bad_line_error;
}

TEST(PredictionLogTest, AFullDiskStopsLoggingOnceAndResumesWhenWritesSucceed) {
  testing::TempDir dir;
  std::atomic<bool> full{false};
  std::mutex mu;
  std::vector<PredictionLogEvent> events;
  auto write_fn = [&full](int fd, const char* data, std::size_t size) -> long {
    if (!full.load()) return ::write(fd, data, size);
    // Half of it fits, then the disk is full: the segment must be cut back.
    if (size > 1 && ::write(fd, data, size / 2) < 0) return -1;
    errno = ENOSPC;
    return -1;
  };
  auto observer = [&](const PredictionLogEvent& e) {
    const std::lock_guard<std::mutex> lock(mu);
    events.push_back(e);
  };
  auto count = [&](PredictionLogEvent::Kind kind) {
    const std::lock_guard<std::mutex> lock(mu);
    return std::count_if(events.begin(), events.end(),
                         [kind](const PredictionLogEvent& e) { return e.kind == kind; });
  };
  PredictionLogStats stats;
  {
    PredictionLogOptions options = SmallOptions(dir.path());
    options.disk_retry_interval = 100ms;
    Result<std::unique_ptr<PredictionLog>> log = PredictionLog::Create(options, observer, write_fn);
    ASSERT_TRUE(log) << log.error().message;
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*log)->Append(MakeEvent(i, "before")));
    auto wait_for = [&](auto done) {
      const auto until = std::chrono::steady_clock::now() + 5s;
      while (!done() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(10ms);
      }
      return done();
    };
    ASSERT_TRUE(wait_for([&] { return (*log)->Stats().written_records == 10; }));
    full = true;
    errno = ENOSPC;
    // Appends keep being accepted (the request path never notices) while nothing is written.
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE((*log)->Append(MakeEvent(i, "during")));
      std::this_thread::sleep_for(40ms);
    }
    ASSERT_TRUE(wait_for([&] { return (*log)->Stats().disk_full; }));
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE((*log)->Append(MakeEvent(i, "during")));
      std::this_thread::sleep_for(40ms);
    }
    EXPECT_EQ(count(PredictionLogEvent::Kind::kStopped), 1) << "one line, not one per record";
    full = false;
    int after = 0;
    ASSERT_TRUE(wait_for([&] {
      EXPECT_TRUE((*log)->Append(MakeEvent(after++, "after")));
      return count(PredictionLogEvent::Kind::kResumed) == 1;
    }));
    EXPECT_FALSE((*log)->Stats().disk_full);
    stats = (*log)->Stats();
  }
  PredictionLogReadStats read;
  const std::vector<PredictionRecord> records = ReadAll(dir.path(), &read);
  EXPECT_EQ(read.torn_lines, 0u) << "the half-written lines were cut back";
  EXPECT_EQ(read.bad_lines, 0u);
  std::size_t during = 0;
  for (const PredictionRecord& r : records) during += r.request_id == "during" ? 1 : 0;
  EXPECT_LT(during, 10u);
  EXPECT_GT(stats.dropped_disk, 0u);
  EXPECT_EQ(records.size() + stats.dropped_disk, stats.appended);
  EXPECT_EQ(count(PredictionLogEvent::Kind::kStopped), 1);
}

TEST(PredictionLogOptionsTest, RefusesValuesOutsideTheirRanges) {
  PredictionLogOptions o;
  o.dir = "/tmp/x";
  EXPECT_TRUE(o.Validate());
  PredictionLogOptions bad = o;
  bad.dir.clear();
  EXPECT_FALSE(bad.Validate());
  bad = o;
  bad.queue_capacity = 1;
  EXPECT_FALSE(bad.Validate());
  bad = o;
  bad.retention_bytes = bad.segment_max_bytes - 1;
  EXPECT_FALSE(bad.Validate());
  bad = o;
  bad.flush_interval = std::chrono::milliseconds(0);
  EXPECT_FALSE(bad.Validate());
}

}  // namespace
}  // namespace csml
