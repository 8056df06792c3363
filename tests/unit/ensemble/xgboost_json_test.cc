// ReadXgboostJson on a real model (the interop fixture) and on small hand-written ones. The
// edits of real models that it refuses are tested through its two users:
// tests/unit/model (XgboostBooster / XgboostPredictor) and tests/unit/predict (LoadForest).
#include "csml/ensemble/xgboost_json.h"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace csml {
namespace {

std::string ReadFixture() {
  std::ifstream in(CSML_TEST_DATA_DIR "/fixtures/xgboost_synth/model.json", std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// One tree: a split on feature `feature` at 0.5 with two leaves.
std::string Stump(const std::string& tree_param = R"({"num_nodes":"3","num_deleted":"0"})",
                  const std::string& left = "[1,-1,-1]", const std::string& feature = "1") {
  std::string json =
      R"({"learner":{"objective":{"name":"binary:logistic"},)"
      R"("learner_model_param":{"base_score":"[2.5E-1]","num_feature":"2","num_class":"0"},)"
      R"("gradient_booster":{"name":"gbtree","model":{"gbtree_model_param":{"num_trees":"1"},)"
      R"("tree_info":[0],"trees":[{"id":0,"tree_param":)";
  json += tree_param;
  json += R"(,"left_children":)";
  json += left;
  json += R"(,"right_children":[2,-1,-1],"split_indices":[)";
  json += feature;
  json += R"(,0,0],"split_conditions":[0.5,-1.25,2],"default_left":[true,false,false],)"
          R"("base_weights":[0,0,0],"parents":[2147483647,0,0],"loss_changes":[1,0,0],)"
          R"("sum_hessian":[3,1,2]}]}}}})";
  return json;
}

TEST(ReadXgboostJson, YieldsTheTreesOfARealModel) {
  const std::string json = ReadFixture();
  ASSERT_FALSE(json.empty());
  auto model = ReadXgboostJson(json);
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_EQ(model->objective, "binary:logistic");
  EXPECT_EQ(model->base_score, 0.5f);
  EXPECT_EQ(model->num_features, 12u);
  ASSERT_EQ(model->feature_names.size(), 12u);
  EXPECT_EQ(model->feature_names.front(), "activity_7d");
  EXPECT_EQ(model->feature_names.back(), "region_EU");
  ASSERT_EQ(model->trees.size(), 84u);
  const XgboostJsonTree& first = model->trees.front();
  EXPECT_EQ(first.num_nodes(), 61u);
  EXPECT_EQ(first.left_children.size(), first.split_conditions.size());
  EXPECT_EQ(first.left_children[0], 1);
  EXPECT_EQ(first.left_children[1], 7);
  EXPECT_FALSE(first.is_leaf(0));
  EXPECT_TRUE(first.is_leaf(4));
  EXPECT_EQ(first.split_indices[0], 2);
  EXPECT_EQ(first.split_conditions[0], 8.0f);
}

TEST(ReadXgboostJson, ReadsEveryArrayOfASmallTree) {
  auto model = ReadXgboostJson(Stump());
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_EQ(model->base_score, 0.25f);  // XGBoost 2.x writes it in brackets
  EXPECT_EQ(model->num_features, 2u);
  EXPECT_TRUE(model->feature_names.empty());
  ASSERT_EQ(model->trees.size(), 1u);
  const XgboostJsonTree& tree = model->trees[0];
  EXPECT_EQ(tree.left_children, (std::vector<std::int32_t>{1, -1, -1}));
  EXPECT_EQ(tree.right_children, (std::vector<std::int32_t>{2, -1, -1}));
  EXPECT_EQ(tree.split_indices[0], 1);
  EXPECT_EQ(tree.split_conditions, (std::vector<float>{0.5f, -1.25f, 2.0f}));
  EXPECT_EQ(tree.default_left, (std::vector<bool>{true, false, false}));
  EXPECT_EQ(tree.num_deleted, 0u);
}

TEST(ReadXgboostJson, AllowsAsManyUnreachableNodesAsNumDeleted) {
  // Five nodes, the last two pruned (XGBoost keeps them in the arrays).
  std::string json = Stump(R"({"num_nodes":"5","num_deleted":"2"})", "[1,-1,-1,-1,-1]");
  const std::pair<const char*, const char*> grow[] = {
      {"right_children\":[2,-1,-1", ",-1,-1"},     {"split_indices\":[1,0,0", ",0,0"},
      {"split_conditions\":[0.5,-1.25,2", ",0,0"}, {"default_left\":[true,false,false", ",0,0"},
      {"base_weights\":[0,0,0", ",0,0"},           {"parents\":[2147483647,0,0", ",0,0"},
      {"loss_changes\":[1,0,0", ",0,0"},           {"sum_hessian\":[3,1,2", ",0,0"}};
  for (const auto& [key, more] : grow) {
    const std::size_t at = json.find(key);
    ASSERT_NE(at, std::string::npos) << key;
    json.insert(at + std::string(key).size(), more);
  }
  auto model = ReadXgboostJson(json);
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_EQ(model->trees[0].num_deleted, 2u);

  const std::string one_deleted = [&] {
    std::string j = json;
    j.replace(j.find(R"("num_deleted":"2")"), 17, R"("num_deleted":"1")");
    return j;
  }();
  auto refused = ReadXgboostJson(one_deleted);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kValidation);
  EXPECT_EQ(refused.error().message,
            "XGBoost model: learner.gradient_booster.model.trees[0]: expected at most "
            "num_deleted = 1 nodes the root does not reach, got 2 (node 3 is not reachable from "
            "the root)");
}

TEST(ReadXgboostJson, NamesThePathAndTheValueInEveryError) {
  struct Case {
    std::string json;
    ErrorCode code;
    std::string message;
  };
  const Case cases[] = {
      {"{", ErrorCode::kParse, "XGBoost model: expected JSON, got text that is not valid JSON"},
      {"[1]", ErrorCode::kParse, "XGBoost model: (top level): expected an object, got [1]"},
      {R"({"learner":{}})", ErrorCode::kParse,
       "XGBoost model: learner.objective: expected an object, got nothing (the key is missing)"},
      {Stump(R"({"num_nodes":"three"})"), ErrorCode::kParse,
       "XGBoost model: learner.gradient_booster.model.trees[0].tree_param.num_nodes: expected a "
       "string holding an integer in [1, 16777216], got \"three\""},
      {Stump(R"({"num_nodes":"3"})", "[1,-1,-1]", "2"), ErrorCode::kValidation,
       "XGBoost model: learner.gradient_booster.model.trees[0].split_indices[0]: expected a "
       "feature index in [0, 2), got 2"},
      {Stump(R"({"num_nodes":"3"})", "[1,-1,\"x\"]"), ErrorCode::kParse,
       "XGBoost model: learner.gradient_booster.model.trees[0].left_children[2]: expected an "
       "integer, got \"x\""},
  };
  for (const Case& c : cases) {
    auto model = ReadXgboostJson(c.json);
    ASSERT_FALSE(model.has_value()) << c.json;
    EXPECT_EQ(model.error().code, c.code) << model.error().message;
    EXPECT_EQ(model.error().message.substr(0, c.message.size()), c.message);
  }
}

}  // namespace
}  // namespace csml
