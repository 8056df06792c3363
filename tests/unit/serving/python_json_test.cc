#include "csml/serving/python_json.h"

#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace csml {
namespace {

struct ReprCase {
  double value;
  std::string repr;
};

class PythonFloatRepr : public ::testing::TestWithParam<ReprCase> {};

TEST_P(PythonFloatRepr, MatchesPythonsRepr) {
  std::string out;
  AppendPythonFloatRepr(&out, GetParam().value);
  EXPECT_EQ(out, GetParam().repr);
}

// Expected strings are Python 3's repr() of the same doubles.
INSTANTIATE_TEST_SUITE_P(
    Table, PythonFloatRepr,
    ::testing::Values(ReprCase{0.0, "0.0"}, ReprCase{-0.0, "-0.0"}, ReprCase{1.0, "1.0"},
                      ReprCase{0.7312, "0.7312"}, ReprCase{0.69, "0.69"}, ReprCase{0.1, "0.1"},
                      ReprCase{1e-4, "0.0001"}, ReprCase{1.5e-4, "0.00015"},
                      ReprCase{1e-5, "1e-05"}, ReprCase{1.5e-5, "1.5e-05"},
                      ReprCase{123.456, "123.456"}, ReprCase{-2.5, "-2.5"},
                      ReprCase{1234567890123456.0, "1234567890123456.0"}, ReprCase{1e16, "1e+16"},
                      ReprCase{1.2345678901234568e+29, "1.2345678901234568e+29"},
                      ReprCase{1.5e300, "1.5e+300"}, ReprCase{5e-324, "5e-324"},
                      ReprCase{std::numeric_limits<double>::infinity(), "inf"},
                      ReprCase{-std::numeric_limits<double>::infinity(), "-inf"},
                      ReprCase{std::numeric_limits<double>::quiet_NaN(), "nan"}));

TEST(PyJsonLoads, BuildsATapeWithSkipIndexes) {
  auto doc = PyJsonLoads(R"({"a":[1,2.5,"x"],"b":null,"c":{"d":true}})");
  ASSERT_TRUE(doc.has_value()) << doc.error().FullMessage();
  const PyJsonNode& root = doc->node(0);
  EXPECT_EQ(root.kind, PyJsonKind::kObject);
  EXPECT_EQ(root.size, 3u);
  EXPECT_EQ(root.end, doc->num_nodes());
  // Members: key "a", array [1, 2.5, "x"], key "b", null, key "c", object {d: true}.
  EXPECT_EQ(doc->text(doc->node(1)), "a");
  const PyJsonNode& array = doc->node(2);
  EXPECT_EQ(array.kind, PyJsonKind::kArray);
  EXPECT_EQ(array.size, 3u);
  EXPECT_EQ(doc->node(3).kind, PyJsonKind::kInt);
  EXPECT_EQ(doc->text(doc->node(3)), "1");
  EXPECT_EQ(doc->node(4).number, 2.5);
  EXPECT_EQ(doc->text(doc->node(5)), "x");
  EXPECT_EQ(array.end, 6u);
  EXPECT_EQ(doc->text(doc->node(6)), "b");
  EXPECT_EQ(doc->node(7).kind, PyJsonKind::kNull);
  EXPECT_EQ(doc->node(9).kind, PyJsonKind::kObject);
  EXPECT_EQ(doc->node(11).kind, PyJsonKind::kTrue);
}

TEST(PyJsonLoads, AcceptsPythonsNonFiniteConstants) {
  auto doc = PyJsonLoads("[NaN, Infinity, -Infinity, 1e400, -1e400]");
  ASSERT_TRUE(doc.has_value());
  EXPECT_TRUE(std::isnan(doc->node(1).number));
  EXPECT_EQ(doc->node(2).number, std::numeric_limits<double>::infinity());
  EXPECT_EQ(doc->node(3).number, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(doc->node(4).number, std::numeric_limits<double>::infinity());
  EXPECT_EQ(doc->node(5).number, -std::numeric_limits<double>::infinity());
}

TEST(PyJsonLoads, CountsStringLengthInCodePointsAndJoinsSurrogatePairs) {
  auto doc = PyJsonLoads(R"(["\ud83d\ude00é", "\ud800x"])");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(doc->node(1).size, 2u);
  EXPECT_EQ(doc->text(doc->node(1)), "\xF0\x9F\x98\x80\xC3\xA9");
  EXPECT_EQ(doc->node(2).size, 2u);  // a lone surrogate is one code point, kept as U+FFFD
  EXPECT_EQ(doc->text(doc->node(2)), "\xEF\xBF\xBDx");
}

TEST(PyJsonLoads, CountsPositionsInCodePointsAndLinesFromNewlines) {
  auto doc = PyJsonLoads("{\"é\u4e2d\":\n 1,\n  x}");
  ASSERT_FALSE(doc.has_value());
  const PyJsonError& e = doc.error();
  EXPECT_EQ(e.kind, PyJsonError::Kind::kDecodeError);
  EXPECT_EQ(e.msg, "Expecting property name enclosed in double quotes");
  EXPECT_EQ(e.pos, 13u);
  EXPECT_EQ(e.lineno, 3u);
  EXPECT_EQ(e.colno, 3u);
  EXPECT_EQ(e.FullMessage(),
            "Expecting property name enclosed in double quotes: line 3 column 3 (char 13)");
}

TEST(PyJsonLoads, RefusesInvalidUtf8AsNotDecodable) {
  auto doc = PyJsonLoads("[\"\xC0\xAF\"]");  // an overlong '/'
  ASSERT_FALSE(doc.has_value());
  EXPECT_EQ(doc.error().kind, PyJsonError::Kind::kNotDecodable);
}

TEST(PyJsonLoads, StopsAtTheConfiguredDepth) {
  PyJsonOptions options;
  options.max_depth = 3;
  EXPECT_TRUE(PyJsonLoads("[[[]]]", options).has_value());
  auto deep = PyJsonLoads("[[[[]]]]", options);
  ASSERT_FALSE(deep.has_value());
  EXPECT_EQ(deep.error().kind, PyJsonError::Kind::kNotDecodable);
}

}  // namespace
}  // namespace csml
