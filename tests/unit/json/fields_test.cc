#include "csml/json/fields.h"

#include <string>

#include <gtest/gtest.h>

namespace csml::json {
namespace {

class Fields : public ::testing::Test {
 protected:
  dom::object Doc(std::string_view text) {
    auto doc = Parse(parser_, text, "test.json");
    EXPECT_TRUE(doc.has_value()) << doc.error().message;
    auto object = AsObject(*doc, JsonPath("test.json"));
    EXPECT_TRUE(object.has_value());
    return *object;
  }
  dom::parser parser_;
};

TEST_F(Fields, ReadsEachTypeAndNamesThePathWhenItIsWrong) {
  const dom::object top = Doc(R"({"a":{"b":[1,2.5,"x",true]},"s":"text","n":7,"t":false})");
  const JsonPath root("test.json");
  ASSERT_TRUE(ObjectField(top, "a", root).has_value());
  EXPECT_EQ(StringField(top, "s", root).value(), "text");
  EXPECT_EQ(Int64Field(top, "n", root).value(), 7);
  EXPECT_EQ(NumberField(top, "n", root).value(), 7.0);
  EXPECT_EQ(BoolField(top, "t", root).value(), false);
  EXPECT_TRUE(Find(top, "n").has_value());
  EXPECT_FALSE(Find(top, "absent").has_value());

  const JsonPath b = root.Key("a").Key("b");
  EXPECT_EQ(b.Text(), "a.b");
  EXPECT_EQ(b.Index(2).Text(), "a.b[2]");
  EXPECT_EQ(root.Text(), "(top level)");

  auto wrong = StringField(top, "n", root);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, ErrorCode::kParse);
  EXPECT_EQ(wrong.error().message, "test.json: n: expected a string, got 7");

  auto missing = ArrayField(ObjectField(top, "a", root).value(), "c", root.Key("a"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message,
            "test.json: a.c: expected an array, got nothing (the key is missing)");

  auto not_int = AsInt64(
      ArrayField(ObjectField(top, "a", root).value(), "b", root.Key("a")).value().at(1).value(),
      b.Index(1));
  ASSERT_FALSE(not_int.has_value());
  EXPECT_EQ(not_int.error().message, "test.json: a.b[1]: expected an integer, got 2.5");

  auto invalid = root.Key("n").Invalid("a count below 5", "7");
  EXPECT_EQ(invalid.value().code, ErrorCode::kValidation);
  EXPECT_EQ(invalid.value().message, "test.json: n: expected a count below 5, got 7");
}

TEST_F(Fields, RefusesTextThatIsNotJson) {
  auto doc = Parse(parser_, "{\"a\":", "meta.json");
  ASSERT_FALSE(doc.has_value());
  EXPECT_EQ(doc.error().code, ErrorCode::kParse);
  EXPECT_EQ(
      doc.error().message.rfind("meta.json: expected JSON, got text that is not valid JSON (", 0),
      0u)
      << doc.error().message;
}

TEST(Describe, CutsLongValues) {
  dom::parser parser;
  auto doc =
      Parse(parser, R"(["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"])", "x");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(Describe(*doc, 12), R"(["aaaaaaa...)");
  EXPECT_EQ(Describe(*doc).size(), 40u);
}

}  // namespace
}  // namespace csml::json
