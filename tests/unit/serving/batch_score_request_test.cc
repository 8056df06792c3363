// DecodeBatchScoreRequest: the whole-batch rules, and each item read exactly as /score reads
// a body (checked against every golden /score case wrapped into a batch).
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "csml/serving/python_json.h"
#include "csml/serving/score_request.h"
#include "testing/files.h"

namespace csml {
namespace {

using testing::ReadWholeFile;

const std::string kSeed =
    R"({"userId":"u_001","features":{"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN","usage_score":0.2}})";

std::string ErrorBody(const ScoreRequestError& error) {
  std::string body;
  AppendScoreRequestErrorJson(&body, error);
  return body;
}

BatchScoreRequestResult Decode(const std::string& body, std::size_t max_items = 10) {
  return DecodeBatchScoreRequest(body, BodyFormat::kJson, max_items);
}

TEST(BatchScoreRequest, DecodesEveryWellFormedItemInOrder) {
  const auto batch = Decode(R"({"items":[)" + kSeed + "," + kSeed + R"(],"extra":1})");
  ASSERT_TRUE(batch.has_value()) << ErrorBody(batch.error());
  ASSERT_EQ(batch->items.size(), 2u);
  const auto single = DecodeScoreRequest(kSeed, BodyFormat::kJson);
  for (const ScoreRequestResult& item : batch->items) {
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(item->user_id, "u_001");
    EXPECT_EQ(item->features.region, single->features.region);
    for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
      const double a = item->features.numeric[f];
      const double b = single->features.numeric[f];
      EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << kNumericFeatureSpecs[f].name;
    }
  }
}

TEST(BatchScoreRequest, AnEmptyListIsAnEmptyBatch) {
  const auto batch = Decode(R"({"items":[]})");
  ASSERT_TRUE(batch.has_value());
  EXPECT_TRUE(batch->items.empty());
}

TEST(BatchScoreRequest, ItemErrorsStayWithTheirItemUnderItsIndex) {
  const auto batch =
      Decode(R"({"items":[)" + kSeed +
             R"(,{"userId":"b"},null,7,{"userId":"c","features":{"activity_7d":NaN}}]})");
  ASSERT_TRUE(batch.has_value()) << ErrorBody(batch.error());
  ASSERT_EQ(batch->items.size(), 5u);
  EXPECT_TRUE(batch->items[0].has_value());
  ASSERT_FALSE(batch->items[1].has_value());
  EXPECT_EQ(
      ErrorBody(batch->items[1].error()),
      R"({"detail":[{"loc":["body","items",1,"features"],"msg":"field required","type":"value_error.missing"}]})");
  ASSERT_FALSE(batch->items[2].has_value());
  EXPECT_EQ(
      ErrorBody(batch->items[2].error()),
      R"({"detail":[{"loc":["body","items",2],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"}]})");
  ASSERT_FALSE(batch->items[3].has_value());
  EXPECT_EQ(
      ErrorBody(batch->items[3].error()),
      R"({"detail":[{"loc":["body","items",3],"msg":"value is not a valid dict","type":"type_error.dict"}]})");
  ASSERT_FALSE(batch->items[4].has_value());
  const std::string nan_errors = ErrorBody(batch->items[4].error());
  EXPECT_NE(
      nan_errors.find(
          R"({"loc":["body","items",4,"features","activity_7d"],"msg":"ensure this value is greater than or equal to 0")"),
      std::string::npos)
      << nan_errors;
}

struct WholeBatchCase {
  std::string name;
  std::string body;
  BodyFormat format = BodyFormat::kJson;
  std::string answer;  // the whole-batch error body
};

class BatchScoreRequestRefusal : public ::testing::TestWithParam<WholeBatchCase> {};

TEST_P(BatchScoreRequestRefusal, FailsTheWholeBatchInPydanticsWords) {
  const auto batch = DecodeBatchScoreRequest(GetParam().body, GetParam().format, 2);
  ASSERT_FALSE(batch.has_value());
  EXPECT_EQ(ErrorBody(batch.error()), GetParam().answer);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BatchScoreRequestRefusal,
    ::testing::Values(
        WholeBatchCase{
            "empty_body", "", BodyFormat::kJson,
            R"({"detail":[{"loc":["body"],"msg":"field required","type":"value_error.missing"}]})"},
        WholeBatchCase{
            "not_json_content_type", R"({"items":[]})", BodyFormat::kNotJson,
            R"({"detail":[{"loc":["body"],"msg":"value is not a valid dict","type":"type_error.dict"}]})"},
        WholeBatchCase{
            "items_missing", R"({"item":[]})", BodyFormat::kJson,
            R"({"detail":[{"loc":["body","items"],"msg":"field required","type":"value_error.missing"}]})"},
        WholeBatchCase{
            "items_null", R"({"items":null})", BodyFormat::kJson,
            R"({"detail":[{"loc":["body","items"],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"}]})"},
        WholeBatchCase{
            "items_object", R"({"items":{"a":1}})", BodyFormat::kJson,
            R"({"detail":[{"loc":["body","items"],"msg":"value is not a valid list","type":"type_error.list"}]})"},
        WholeBatchCase{
            "items_string", R"({"items":"abc"})", BodyFormat::kJson,
            R"({"detail":[{"loc":["body","items"],"msg":"value is not a valid list","type":"type_error.list"}]})"},
        WholeBatchCase{
            "body_a_list", R"([1,2,3])", BodyFormat::kJson,
            R"({"detail":[{"loc":["body"],"msg":"value is not a valid dict","type":"type_error.dict"}]})"},
        WholeBatchCase{
            "too_many_items", R"({"items":[{},{},{}]})", BodyFormat::kJson,
            R"({"detail":[{"loc":["body","items"],"msg":"ensure this value has at most 2 items","type":"value_error.list.max_items","ctx":{"limit_value":2}}]})"},
        WholeBatchCase{
            "too_many_items_slow_path", R"({"items":[NaN,{},{}]})", BodyFormat::kJson,
            R"({"detail":[{"loc":["body","items"],"msg":"ensure this value has at most 2 items","type":"value_error.list.max_items","ctx":{"limit_value":2}}]})"},
        WholeBatchCase{
            "malformed", R"({"items":[)", BodyFormat::kJson,
            R"x({"detail":[{"loc":["body",10],"msg":"Expecting value: line 1 column 11 (char 10)","type":"value_error.jsondecode","ctx":{"msg":"Expecting value","doc":"{\"items\":[","pos":10,"lineno":1,"colno":11}}]})x"},
        WholeBatchCase{"invalid_utf8", "{\"items\":[\"\xff\"]}", BodyFormat::kJson,
                       R"({"detail":"There was an error parsing the body"})"}),
    [](const ::testing::TestParamInfo<WholeBatchCase>& param) { return param.param.name; });

// ---- every golden /score case, as an item ---------------------------------------------------

TEST(BatchScoreRequest, ReadsEachItemExactlyAsScoreReadsABody) {
  simdjson::dom::parser parser;
  const simdjson::padded_string json(
      ReadWholeFile(std::string(CSML_TEST_DATA_DIR) + "/serving/score_request_cases.json"));
  int compared = 0;
  for (simdjson::dom::element c : parser.parse(json).get_array()) {
    std::string_view content_type;
    if (c["content_type"].get_string().get(content_type) != simdjson::SUCCESS ||
        content_type != "application/json") {
      continue;
    }
    std::string_view body_text;
    if (c["body"].get_string().get(body_text) != simdjson::SUCCESS) continue;  // body_hex cases
    const std::string body(body_text);
    // Only bodies that are a whole JSON value of their own (in UTF-8) can be an item.
    const auto doc = PyJsonLoads(body);
    if (!doc || body.empty() || body.substr(0, 3) == "\xEF\xBB\xBF" ||
        body.find('\0') != std::string::npos) {
      continue;
    }
    if (doc->node(0).kind == PyJsonKind::kNull) continue;  // a null body is "missing"
    const std::string name(c["case"].get_string().value());
    const ScoreRequestResult single = DecodeScoreRequest(body, BodyFormat::kJson);
    const auto batch = Decode(R"({"items":[)" + body + "]}", 1);
    ASSERT_TRUE(batch.has_value()) << name << ": " << ErrorBody(batch.error());
    ASSERT_EQ(batch->items.size(), 1u) << name;
    const ScoreRequestResult& item = batch->items[0];
    ASSERT_EQ(item.has_value(), single.has_value()) << name;
    if (single) {
      EXPECT_EQ(item->user_id, single->user_id) << name;
      EXPECT_EQ(item->unknown_feature_keys, single->unknown_feature_keys) << name;
      for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
        const double a = item->features.numeric[f];
        const double b = single->features.numeric[f];
        EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << name;
      }
    } else {
      std::vector<ValidationError> relocated = single.error().errors;
      for (ValidationError& e : relocated) {
        std::vector<ErrorLocPart> loc = {std::string("body"), std::string("items"),
                                         std::int64_t{0}};
        loc.insert(loc.end(), e.loc.begin() + 1, e.loc.end());
        e.loc = loc;
      }
      EXPECT_EQ(item.error().errors, relocated) << name;
    }
    ++compared;
  }
  EXPECT_GE(compared, 20);
}

// "explain" and "top" per item (score_request.h), through the fast path and, with a null item
// that makes the whole batch take the reference path, through pydantic's rules: both agree.
TEST(BatchScoreRequest, ReadsExplainAndTopPerItemOnBothPaths) {
  const std::string features = kSeed.substr(kSeed.find(R"("features")"));
  const auto item = [&](const std::string& extra) {
    return R"({"userId":"u_001",)" + extra + (extra.empty() ? "" : ",") + features;
  };
  struct Case {
    std::string extra;
    bool explain;
    std::size_t top;
  };
  const std::vector<Case> ok = {
      {"", false, 4},
      {R"("explain":true)", true, 4},
      {R"("explain":false,"top":2)", false, 2},
      {R"("explain":true,"top":"all")", true, std::numeric_limits<std::size_t>::max()},
      {R"("top":12,"explain":true)", true, 12},
  };
  for (const Case& c : ok) {
    for (const bool reference : {false, true}) {
      const auto batch =
          Decode(R"({"items":[)" + item(c.extra) + (reference ? ",null" : "") + "]}");
      ASSERT_TRUE(batch.has_value()) << c.extra;
      ASSERT_TRUE(batch->items[0].has_value()) << c.extra << ErrorBody(batch->items[0].error());
      EXPECT_EQ(batch->items[0]->explain, c.explain) << c.extra << " reference " << reference;
      EXPECT_EQ(batch->items[0]->explain_top, c.top) << c.extra << " reference " << reference;
    }
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"("explain":"yes")",
       R"({"detail":[{"loc":["body","items",0,"explain"],"msg":"value could not be parsed to a boolean","type":"type_error.bool"}]})"},
      {R"("explain":1)",
       R"({"detail":[{"loc":["body","items",0,"explain"],"msg":"value could not be parsed to a boolean","type":"type_error.bool"}]})"},
      {R"("explain":null)",
       R"({"detail":[{"loc":["body","items",0,"explain"],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"}]})"},
      {R"("top":0)",
       R"({"detail":[{"loc":["body","items",0,"top"],"msg":"ensure this value is greater than or equal to 1","type":"value_error.number.not_ge","ctx":{"limit_value":1}}]})"},
      {R"("top":-3)",
       R"({"detail":[{"loc":["body","items",0,"top"],"msg":"ensure this value is greater than or equal to 1","type":"value_error.number.not_ge","ctx":{"limit_value":1}}]})"},
      {R"("top":2.0)",
       R"({"detail":[{"loc":["body","items",0,"top"],"msg":"value is not a valid integer","type":"type_error.integer"}]})"},
      {R"("top":"3")",
       R"({"detail":[{"loc":["body","items",0,"top"],"msg":"value is not a valid integer","type":"type_error.integer"}]})"},
      {R"("top":true)",
       R"({"detail":[{"loc":["body","items",0,"top"],"msg":"value is not a valid integer","type":"type_error.integer"}]})"},
      {R"("top":null)",
       R"({"detail":[{"loc":["body","items",0,"top"],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"}]})"},
  };
  for (const auto& [extra, expected] : bad) {
    const auto batch = Decode(R"({"items":[)" + item(extra) + "]}");
    ASSERT_TRUE(batch.has_value()) << extra;
    ASSERT_FALSE(batch->items[0].has_value()) << extra;
    EXPECT_EQ(ErrorBody(batch->items[0].error()), expected) << extra;
  }
  // After the features' errors, in field order.
  const auto both = Decode(R"({"items":[{"userId":"u","explain":2,"top":0}]})");
  ASSERT_TRUE(both.has_value());
  ASSERT_FALSE(both->items[0].has_value());
  const auto& errors = both->items[0].error().errors;
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].loc.back(), ErrorLocPart(std::string("features")));
  EXPECT_EQ(errors[1].loc.back(), ErrorLocPart(std::string("explain")));
  EXPECT_EQ(errors[2].loc.back(), ErrorLocPart(std::string("top")));
  // A /score body's explain is an unknown key.
  const auto single = DecodeScoreRequest(item(R"("explain":"not a bool")"), BodyFormat::kJson);
  ASSERT_TRUE(single.has_value());
  EXPECT_FALSE(single->explain);
}

}  // namespace
}  // namespace csml
