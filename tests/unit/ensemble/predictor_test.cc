#include "csml/ensemble/predictor.h"

#include <vector>

#include <gtest/gtest.h>

namespace csml {
namespace {

TEST(CheckRow, AcceptsExactlyOneRowOfTheModelsWidth) {
  const std::vector<double> row(3, 0.5);
  EXPECT_TRUE(CheckRow(3, row).has_value());
  auto short_row = CheckRow(4, row);
  ASSERT_FALSE(short_row.has_value());
  EXPECT_EQ(short_row.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(short_row.error().message, "expected a row of 4 features, got 3");
}

TEST(CheckBatch, WantsWholeRowsAndOneOutputPerRow) {
  const std::vector<double> rows(6, 0.5);
  std::vector<double> out(2);
  EXPECT_TRUE(CheckBatch(3, rows, out).has_value());
  EXPECT_TRUE(CheckBatch(3, {}, {}).has_value());

  auto ragged = CheckBatch(4, rows, out);
  ASSERT_FALSE(ragged.has_value());
  EXPECT_EQ(ragged.error().message, "expected rows of 4 features, got 6 values in all");

  std::vector<double> too_small(1);
  auto small = CheckBatch(3, rows, too_small);
  ASSERT_FALSE(small.has_value());
  EXPECT_EQ(small.error().message, "expected an output buffer of 2 values (one per row), got 1");

  // A model without features takes no values, whatever the number of rows.
  EXPECT_TRUE(CheckBatch(0, {}, out).has_value());
  EXPECT_FALSE(CheckBatch(0, rows, out).has_value());
}

}  // namespace
}  // namespace csml
