// Malformed models: each edit of a good fixture model must be refused with an Error that
// says where (tree, node or line, field), never crash and never load.
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/predict/forest.h"
#include "csml/predict/forest_predictor.h"
#include "testing/fixture_cases.h"

namespace csml {
namespace {

// Replaces the first occurrence of `from` (which must exist) with `to`.
std::string ReplaceFirst(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  if (at == std::string::npos) {
    ADD_FAILURE() << "the fixture no longer contains '" << from << "'";
    return text;
  }
  return text.replace(at, from.size(), to);
}

struct BadModelCase {
  const char* name;
  const char* fixture;  // folder under tests/data/fixtures, "" for no base file
  const char* model_file;
  std::function<std::string(std::string)> edit;
  ErrorCode code;
  const char* message_part;  // the error must say this (where, what)
};

std::ostream& operator<<(std::ostream& os, const BadModelCase& c) { return os << c.name; }

class MalformedModel : public ::testing::TestWithParam<BadModelCase> {};

TEST_P(MalformedModel, IsRefusedWithAnErrorSayingWhere) {
  const BadModelCase& c = GetParam();
  std::string base;
  if (*c.fixture != '\0') {
    auto bytes = testing::ReadFile(testing::FixturePath(c.fixture, c.model_file));
    ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
    base = std::move(*bytes);
    ASSERT_TRUE(LoadForest(base).has_value()) << "the unedited fixture must load";
  }
  const std::string edited = c.edit(base);
  ASSERT_NE(edited, base);
  auto forest = LoadForest(edited);
  ASSERT_FALSE(forest.has_value()) << "loaded a malformed model";
  EXPECT_EQ(forest.error().code, c.code)
      << ErrorCodeName(forest.error().code) << ": " << forest.error().message;
  EXPECT_NE(forest.error().message.find(c.message_part), std::string::npos)
      << "message: " << forest.error().message;
  // The Predictor factory refuses it the same way.
  auto predictor = MakeForestPredictor(edited);
  ASSERT_FALSE(predictor.has_value());
  EXPECT_EQ(predictor.error().message, forest.error().message);
}

std::string Truncate(const std::string& text, double fraction) {
  return text.substr(0, static_cast<std::size_t>(static_cast<double>(text.size()) * fraction));
}

constexpr char kLgb[] = "lightgbm_synth";
constexpr char kLgbCat[] = "lightgbm_synth_categorical";
constexpr char kXgb[] = "xgboost_synth";
// Tree 0 of lightgbm_synth (node numbers as in the file: splits 0..29, leaves 0..30).
constexpr char kLgbLeft[] = "left_child=3 2 6 4 8 -5 7 11";
constexpr char kLgbRight[] = "right_child=1 26 9 5 21 -7 10 -9";
// Tree 0 of xgboost_synth.
constexpr char kXgbLeft[] = R"("left_children":[1,7,3,5,-1)";

INSTANTIATE_TEST_SUITE_P(
    Table, MalformedModel,
    ::testing::Values(
        // ---- LightGBM text ----
        BadModelCase{"LightgbmTruncatedInTheMiddle", kLgb, "model.txt",
                     [](std::string model) { return Truncate(model, 0.5); }, ErrorCode::kParse,
                     "without 'end of trees'"},
        BadModelCase{"LightgbmTruncatedInTheHeader", kLgb, "model.txt",
                     [](std::string model) { return model.substr(0, 60); }, ErrorCode::kParse,
                     "missing the 'objective=' line"},
        BadModelCase{"LightgbmTruncatedMidLine", kLgb, "model.txt",
                     [](std::string model) { return model.substr(0, model.find("leaf_value=") + 30); },
                     ErrorCode::kValidation, "tree 0, leaf_value"},
        BadModelCase{"LightgbmWithoutItsLastTree", kLgb, "model.txt",
                     [](std::string model) {
                       const std::size_t from = model.find("Tree=72");
                       return model.erase(from, model.find("end of trees") - from);
                     },
                     ErrorCode::kValidation, "tree_sizes lists 73 trees but the file has 72"},
        BadModelCase{"LightgbmWrongLeafCount", kLgb, "model.txt",
                     [](std::string model) { return ReplaceFirst(model, "num_leaves=31", "num_leaves=30"); },
                     ErrorCode::kValidation, "tree 0, leaf_value): expected num_leaves = 30"},
        BadModelCase{"LightgbmShortThresholdArray", kLgb, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, "threshold=7.5000000000000009 ", "threshold=");
                     },
                     ErrorCode::kValidation, "tree 0, threshold): expected num_leaves - 1 = 30"},
        BadModelCase{"LightgbmChildOutOfRange", kLgb, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, kLgbLeft, "left_child=3 2 6 4 99 -5 7 11");
                     },
                     ErrorCode::kValidation, "tree 0, left_child): item 4 = 99"},
        BadModelCase{"LightgbmLeafOutOfRange", kLgb, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, kLgbLeft, "left_child=3 2 6 4 8 -32 7 11");
                     },
                     ErrorCode::kValidation, "item 5 = -32"},
        BadModelCase{"LightgbmCycleBackToTheRoot", kLgb, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, kLgbLeft, "left_child=3 2 6 0 8 -5 7 11");
                     },
                     ErrorCode::kValidation, "split 0 is reached a second time from split 3"},
        BadModelCase{"LightgbmSharedChild", kLgb, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, kLgbRight, "right_child=1 26 9 5 21 -5 10 -9");
                     },
                     ErrorCode::kValidation, "leaf 4 is reached a second time"},
        BadModelCase{"LightgbmFeatureIndexOutOfRange", kLgb, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, "split_feature=2 2 3", "split_feature=12 2 3");
                     },
                     ErrorCode::kValidation, "tree 0, split_feature): item 0 = 12"},
        BadModelCase{"LightgbmNanThreshold", kLgb, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, "threshold=7.5000000000000009 ", "threshold=nan ");
                     },
                     ErrorCode::kValidation,
                     "tree 0, threshold): item 0 = nan: a numerical split needs a number"},
        BadModelCase{"LightgbmNegativeNanThreshold", kLgb, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, "threshold=7.5000000000000009 ",
                                           "threshold=-nan ");
                     },
                     ErrorCode::kValidation, "tree 0, threshold): item 0 = nan"},
        BadModelCase{"LightgbmInfiniteCategoricalThreshold", kLgbCat, "model.txt",
                     [](std::string model) {
                       // Split 24 of tree 1, decision_type 9: bitset 0.
                       return ReplaceFirst(model, " 1.0000000180025095e-35 0 0.4785",
                                           " 1.0000000180025095e-35 inf 0.4785");
                     },
                     ErrorCode::kValidation,
                     "item 24 = inf: a categorical split needs a bitset index in [0, 1)"},
        BadModelCase{"LightgbmNonFiniteLeaf", kLgb, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, "leaf_value=-2.0509471380701929",
                                           "leaf_value=inf");
                     },
                     ErrorCode::kValidation, "leaf_value): item 0 = inf is not finite"},
        BadModelCase{"LightgbmGarbageNumber", kLgb, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, "threshold=7.5000000000000009 ", "threshold=7.5x ");
                     },
                     ErrorCode::kParse, "item 0 '7.5x' is not a number"},
        BadModelCase{"LightgbmRegressionObjective", kLgb, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, "objective=binary sigmoid:1", "objective=regression");
                     },
                     ErrorCode::kValidation, "expected objective 'binary'"},
        BadModelCase{"LightgbmMulticlass", kLgb, "model.txt",
                     [](std::string model) { return ReplaceFirst(model, "num_class=1", "num_class=3"); },
                     ErrorCode::kValidation, "num_class): expected 1"},
        BadModelCase{"LightgbmFewerFeatureNames", kLgb, "model.txt",
                     [](std::string model) { return ReplaceFirst(model, " region_EU\n", "\n"); },
                     ErrorCode::kValidation, "expected 12 names"},
        BadModelCase{"LightgbmTreesOutOfOrder", kLgb, "model.txt",
                     [](std::string model) { return ReplaceFirst(model, "Tree=1\n", "Tree=5\n"); },
                     ErrorCode::kParse, "expected 'Tree=1'"},
        BadModelCase{"LightgbmLinearTree", kLgb, "model.txt",
                     [](std::string model) { return ReplaceFirst(model, "is_linear=0", "is_linear=1"); },
                     ErrorCode::kValidation, "linear trees are not supported"},
        BadModelCase{"LightgbmBadDecisionType", kLgb, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, "decision_type=10 8 2", "decision_type=14 8 2");
                     },
                     ErrorCode::kValidation, "decision_type): item 0 = 14"},
        BadModelCase{"LightgbmBitsetBoundsPastTheWords", kLgbCat, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, "cat_boundaries=0 1", "cat_boundaries=0 5");
                     },
                     ErrorCode::kValidation, "cat_boundaries): item 1 = 5"},
        BadModelCase{"LightgbmBitsetWordsDisagreeWithBoundaries", kLgbCat, "model.txt",
                     [](std::string model) {
                       return ReplaceFirst(model, "cat_boundaries=0 1\ncat_threshold=",
                                           "cat_boundaries=0 0\ncat_threshold=");
                     },
                     ErrorCode::kValidation, "cat_threshold): expected 0 words"},
        BadModelCase{"LightgbmBitsetIndexPastNumCat", kLgbCat, "model.txt",
                     [](std::string model) { return ReplaceFirst(model, "num_cat=1", "num_cat=0"); },
                     ErrorCode::kValidation, "a categorical split needs a bitset index in [0, 0)"},
        BadModelCase{"LightgbmMissingCatThreshold", kLgbCat, "model.txt",
                     [](std::string model) { return ReplaceFirst(model, "cat_threshold=", "cat_thresh="); },
                     ErrorCode::kParse, "missing the 'cat_threshold=' line"},
        // ---- XGBoost JSON ----
        BadModelCase{"XgboostTruncated", kXgb, "model.json",
                     [](std::string model) { return Truncate(model, 0.6); }, ErrorCode::kParse,
                     "not valid JSON"},
        BadModelCase{"XgboostWrongNodeCount", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, R"("num_nodes":"61")", R"("num_nodes":"60")");
                     },
                     ErrorCode::kValidation, "trees[0].left_children: expected 60 entries (num_nodes), got 61"},
        BadModelCase{"XgboostChildOutOfRange", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, kXgbLeft, R"("left_children":[1,700,3,5,-1)");
                     },
                     ErrorCode::kValidation, "trees[0].left_children[1]: expected -1 or a node index in [1, 61), got 700"},
        BadModelCase{"XgboostHalfALeaf", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, kXgbLeft, R"("left_children":[1,7,3,-1,-1)");
                     },
                     ErrorCode::kValidation, "trees[0].right_children[3]: expected -1 like left_children[3] (a leaf), got 6"},
        BadModelCase{"XgboostCycle", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, kXgbLeft, R"("left_children":[1,0,3,5,-1)");
                     },
                     ErrorCode::kValidation, "trees[0].left_children[1]: expected -1 or a node index in [1, 61), got 0"},
        BadModelCase{"XgboostSharedChild", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, kXgbLeft, R"("left_children":[1,4,3,5,-1)");
                     },
                     ErrorCode::kValidation, "trees[0].left_children[1]: expected a node no other node points to, got 4"},
        BadModelCase{"XgboostUnreachableSubtree", kXgb, "model.json",
                     [](std::string model) {
                       // Node 1 becomes a leaf: its old subtree (7, 8, ...) hangs loose.
                       model = ReplaceFirst(model, kXgbLeft, R"("left_children":[1,-1,3,5,-1)");
                       return ReplaceFirst(model, R"("right_children":[2,8,)",
                                           R"("right_children":[2,-1,)");
                     },
                     ErrorCode::kValidation, "trees[0]: expected at most num_deleted = 0 nodes the root does not reach, got 26 (node 7 is not reachable from the root)"},
        BadModelCase{"XgboostFeatureIndexOutOfRange", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, R"("split_indices":[2,)", R"("split_indices":[12,)");
                     },
                     ErrorCode::kValidation, "trees[0].split_indices[0]: expected a feature index in [0, 12), got 12"},
        BadModelCase{"XgboostSplitConditionBeyondFloat", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, R"("split_conditions":[8E0,)",
                                           R"("split_conditions":[1E300,)");
                     },
                     ErrorCode::kValidation, "trees[0].split_conditions[0]: expected a finite float32, got 1e+300"},
        BadModelCase{"XgboostOtherObjective", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, R"("name":"binary:logistic")",
                                           R"("name":"reg:squarederror")");
                     },
                     ErrorCode::kValidation, "expected binary:logistic"},
        BadModelCase{"XgboostDart", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, R"("name":"gbtree")", R"("name":"dart")");
                     },
                     ErrorCode::kValidation, "expected gbtree"},
        BadModelCase{"XgboostTreeCountMismatch", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, R"("num_trees":"84")", R"("num_trees":"85")");
                     },
                     ErrorCode::kValidation, "gbtree_model_param.num_trees: expected 84 (the length of the trees array), got 85"},
        BadModelCase{"XgboostBaseScoreOutOfRange", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, R"("base_score":"5E-1")", R"("base_score":"1.5")");
                     },
                     ErrorCode::kValidation, "base_score: expected a probability in (0, 1)"},
        BadModelCase{"XgboostCategoricalSplit", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, R"("split_type":[0,)", R"("split_type":[1,)");
                     },
                     ErrorCode::kValidation, "trees[0].split_type[0]: expected 0 (a numerical split), got 1 (categorical splits are not supported)"},
        BadModelCase{"XgboostMissingArray", kXgb, "model.json",
                     [](std::string model) {
                       return ReplaceFirst(model, R"("default_left":)", R"("default_rigt":)");
                     },
                     ErrorCode::kParse, "trees[0].default_left: expected an array, got nothing (the key is missing)"},
        // ---- neither ----
        BadModelCase{"EmptyInput", "", "", [](std::string) { return std::string(" \n"); },
                     ErrorCode::kParse, "expected an XGBoost JSON model"},
        BadModelCase{"Garbage", "", "", [](std::string) { return std::string("\x7f" "ELF\x01"); },
                     ErrorCode::kParse, "expected an XGBoost JSON model"}),
    [](const ::testing::TestParamInfo<BadModelCase>& param_info) {
      return std::string(param_info.param.name);
    });

}  // namespace
}  // namespace csml

namespace csml {
namespace {

class DamagedModel : public ::testing::TestWithParam<const char*> {
 protected:
  std::string Model() const {
    const std::string name = GetParam();
    const bool json = name.starts_with("xgboost");
    auto bytes = testing::ReadFile(testing::FixturePath(name, json ? "model.json" : "model.txt"));
    EXPECT_TRUE(bytes.has_value());
    return bytes.value_or("");
  }
};

TEST_P(DamagedModel, EveryCutBeforeTheEndIsRefused) {
  const std::string model = Model();
  // LightGBM models are complete once "end of trees" is read; JSON once the last brace is.
  const std::size_t complete_at =
      model.starts_with("{") ? model.rfind('}') : model.find("end of trees") + 12;
  ASSERT_NE(complete_at, std::string::npos);
  for (std::size_t i = 0; i < 400; ++i) {
    const std::size_t cut = complete_at * i / 400;
    auto forest = LoadForest(std::string_view(model).substr(0, cut));
    EXPECT_FALSE(forest.has_value()) << "a model cut at byte " << cut << " loaded";
  }
}

TEST_P(DamagedModel, RandomByteDamageNeverCrashesAndWhatLoadsScoresAProbability) {
  const std::string model = Model();
  std::mt19937 rng(1234);
  const std::string alphabet = "0123456789-.eE+ =,[]{}\n\"abcxyz";
  int loaded = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string damaged = model;
    for (int hits = 0; hits < 3; ++hits) {
      damaged[rng() % damaged.size()] = alphabet[rng() % alphabet.size()];
    }
    auto forest = LoadForest(damaged);
    if (!forest.has_value()) {
      EXPECT_FALSE(forest.error().message.empty());
      continue;
    }
    ++loaded;
    const std::vector<double> row(forest->num_features(), 1.0);
    const double risk = forest->PredictRisk(row);
    EXPECT_TRUE(risk >= 0.0 && risk <= 1.0) << "risk " << risk;
  }
  RecordProperty("loaded", loaded);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DamagedModel,
                         ::testing::Values("lightgbm_synth", "lightgbm_synth_categorical",
                                           "xgboost_synth"));

}  // namespace
}  // namespace csml
