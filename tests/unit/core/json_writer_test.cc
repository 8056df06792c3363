#include "csml/core/json_writer.h"

#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace csml {
namespace {

TEST(JsonWriter, WritesKeysInTheOrderGiven) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("risk").Rounded(0.73124, 4).Key("tier").String("high");
  w.Key("reasons").BeginArray().String("a").String("b").EndArray();
  w.Key("n").Int(-3).Key("ok").Bool(true).Key("x").Null().EndObject();
  EXPECT_EQ(out, R"({"risk":0.7312,"tier":"high","reasons":["a","b"],"n":-3,"ok":true,"x":null})");
}

TEST(JsonWriter, WritesNestedContainersWithCommas) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray().BeginObject().Key("a").Uint(1).EndObject().BeginArray().EndArray().Double(0.5);
  w.EndArray();
  EXPECT_EQ(out, R"([{"a":1},[],0.5])");
}

TEST(JsonWriter, SeparatesElementsAtAnyDepth) {
  // 64 levels are tracked inline, deeper ones on the heap: both must place commas alike.
  std::string out;
  JsonWriter json(&out);
  std::string expected;
  for (int depth = 0; depth < 70; ++depth) {
    json.BeginArray().Int(depth);
    expected += "[" + std::to_string(depth) + ",";
  }
  json.Int(70);
  expected += "70";
  for (int depth = 70; depth > 1; --depth) {
    json.EndArray().Int(-depth);
    expected += "]," + std::to_string(-depth);
  }
  json.EndArray();
  expected += "]";
  EXPECT_EQ(out, expected);
}

TEST(JsonWriter, NonFiniteDoublesBecomeNull) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray().Double(std::numeric_limits<double>::quiet_NaN()).Double(INFINITY).EndArray();
  EXPECT_EQ(out, "[null,null]");
}

TEST(JsonString, EscapesControlCharactersQuotesAndBackslashes) {
  std::string out;
  AppendJsonString(&out, std::string("a\"b\\c\n\t\x01", 8));
  EXPECT_EQ(out, R"("a\"b\\c\n\t\u0001")");
}

TEST(JsonString, KeepsValidUtf8AndReplacesInvalidBytes) {
  std::string out;
  AppendJsonString(&out, "caf\xC3\xA9 \xFF \xED\xA0\x80");  // é, a stray byte, a surrogate
  EXPECT_EQ(out, "\"caf\xC3\xA9 \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(JsonString, EveryByteBetweenRunsOfPlainTextIsEscapedAsAlone) {
  // Plain runs are copied in one piece; the byte between them must still be judged alone.
  const auto escaped = [](unsigned char c) -> std::string {
    switch (c) {
      case '"':
        return "\\\"";
      case '\\':
        return "\\\\";
      case '\n':
        return "\\n";
      case '\r':
        return "\\r";
      case '\t':
        return "\\t";
      case '\b':
        return "\\b";
      case '\f':
        return "\\f";
      default:
        break;
    }
    if (c < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      return std::string("\\u00") + kHex[c >> 4] + kHex[c & 0xF];
    }
    if (c >= 0x80) return "\xEF\xBF\xBD";  // a lone byte >= 0x80 is invalid UTF-8
    return std::string(1, static_cast<char>(c));
  };
  for (int b = 0; b < 256; ++b) {
    const auto c = static_cast<unsigned char>(b);
    const std::string byte(1, static_cast<char>(c));
    std::string out;
    AppendJsonString(&out, "ab" + byte + "cd" + byte);
    EXPECT_EQ(out, "\"ab" + escaped(c) + "cd" + escaped(c) + "\"") << "byte " << b;
  }
}

TEST(RoundTo, RoundsToTheRequestedDecimals) {
  EXPECT_DOUBLE_EQ(RoundTo(0.73125001, 4), 0.7313);
  EXPECT_DOUBLE_EQ(RoundTo(0.69996, 4), 0.7);
  EXPECT_DOUBLE_EQ(RoundTo(0.00004, 4), 0.0);
  std::string out;
  AppendShortestDouble(&out, RoundTo(0.69996, 4));
  EXPECT_EQ(out, "0.7");
}

}  // namespace
}  // namespace csml
