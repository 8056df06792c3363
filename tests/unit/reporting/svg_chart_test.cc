// The SVG writer behind report.html: round axis ticks and ends, number formats, escaping,
// and that every data mark is counted.
#include "svg_chart.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace csml::reporting_internal {
namespace {

void ExpectTicks(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-12);
}

TEST(NiceTicks, StepsByOneTwoOrFiveTimesAPowerOfTen) {
  ExpectTicks(NiceTicks(0, 1, 5), {0, 0.2, 0.4, 0.6, 0.8, 1.0});
  ExpectTicks(NiceTicks(0, 0.9, 5), {0, 0.2, 0.4, 0.6, 0.8});
  ExpectTicks(NiceTicks(0, 5, 5), {0, 1, 2, 3, 4, 5});
  ExpectTicks(NiceTicks(0, 2000, 2), {0, 1000, 2000});
  ExpectTicks(NiceTicks(0, 1, 10), {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0});
  EXPECT_TRUE(NiceTicks(1, 1, 5).empty());
  EXPECT_TRUE(NiceTicks(0, std::nan(""), 5).empty());
}

TEST(NiceCeiling, EndsTheAxisOnATickOfItsOwnStep) {
  EXPECT_NEAR(NiceCeiling(0.62), 0.8, 1e-12);
  EXPECT_NEAR(NiceCeiling(0.55), 0.6, 1e-12);
  EXPECT_NEAR(NiceCeiling(4.9), 5, 1e-12);
  EXPECT_NEAR(NiceCeiling(1426, 2), 2000, 1e-9);
  EXPECT_NEAR(NiceCeiling(0.8), 0.8, 1e-12);
  EXPECT_EQ(NiceCeiling(0), 1);
}

TEST(FormatValue, ShowsTheDecimalsTheTickStepNeeds) {
  EXPECT_EQ(FormatValue(0.2, NumberFormat::kPercent, 0.2), "20%");
  EXPECT_EQ(FormatValue(0.025, NumberFormat::kPercent, 0.025), "2.5%");
  EXPECT_EQ(FormatValue(0.1234, NumberFormat::kPercent), "12.3%");
  EXPECT_EQ(FormatValue(1.5, NumberFormat::kDecimal, 0.5), "1.5");
  EXPECT_EQ(FormatValue(3, NumberFormat::kDecimal, 1), "3");
  EXPECT_EQ(FormatValue(1234567, NumberFormat::kInteger), "1,234,567");
  EXPECT_EQ(FormatValue(std::nan(""), NumberFormat::kDecimal), "n/a");
}

TEST(EscapeHtml, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(EscapeHtml(R"(<a href="x">Tom & 'Jerry'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
  EXPECT_EQ(EscapeHtml("plain"), "plain");
}

TEST(SvgChart, CountsDataMarksAndSkipsNonFinitePoints) {
  SvgChart chart("chart-x", "Title <1>", "desc", 400, 300);
  const Panel p = chart.AddPanel(Rect{50, 50, 300, 200}, AxisSpec{"x (%)", 0, 1},
                                 AxisSpec{"y (%)", 0, 1, NumberFormat::kPercent});
  const std::vector<std::pair<double, double>> line = {{0, 0}, {0.5, std::nan("")}, {1, 1}};
  Style black;
  black.stroke = "#000";
  chart.Polyline(p, line, black, "a line");
  chart.Point(p, 0.5, 0.5, 3, Style{}, "a point");
  chart.Point(p, std::nan(""), 0.5, 3, Style{}, "skipped");
  chart.Bar(10, 10, 5, 5, "#000", "a bar");
  EXPECT_EQ(chart.points(), 4u);
  const std::string svg = chart.Finish();
  EXPECT_EQ(svg.rfind(R"(<svg id="chart-x" class="chart" viewBox="0 0 400.0 300.0")", 0), 0u)
      << svg;
  EXPECT_NE(svg.find(R"(data-points="4")"), std::string::npos);
  EXPECT_NE(svg.find("Title &lt;1&gt;"), std::string::npos);
  EXPECT_NE(svg.find(R"(points="50.0,250.0 350.0,50.0")"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("skipped"), std::string::npos);
  EXPECT_NE(svg.find(">100%</text>"), std::string::npos);
}

}  // namespace
}  // namespace csml::reporting_internal
