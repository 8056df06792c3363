#include "csml/core/error.h"

#include <gtest/gtest.h>

namespace csml {
namespace {

TEST(Error, WithContextPrefixesTheMessageAndKeepsTheCode) {
  const Error e{ErrorCode::kParse, "expected a number, got \"x\""};
  const Error wrapped = e.WithContext("record 3, field features.usage_score");
  EXPECT_EQ(wrapped.code, ErrorCode::kParse);
  EXPECT_EQ(wrapped.message, "record 3, field features.usage_score: expected a number, got \"x\"");
}

TEST(Error, MakeErrorBuildsAnUnexpectedResult) {
  const Result<int> r = MakeError(ErrorCode::kNotFound, "no version named v1");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ErrorCodeName(r.error().code), "not_found");
}

}  // namespace
}  // namespace csml
