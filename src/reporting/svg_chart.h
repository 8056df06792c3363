// SvgChart: a small writer of inline SVG charts for report.html, drawn straight from the
// report's numbers (private to the reporting module).
//
// Why our own SVG and not a charting library: the report must be one self-contained file that
// opens offline with no script (a JS library inlined would be hundreds of kilobytes and
// a second thing to keep), Debian 12 has no maintained C++ plotting library that writes SVG
// without a runtime (gnuplot or matplotlib would add a process and a language), and the charts
// we need are lines, points, bars and axes: a few hundred lines, deterministic bytes, every
// text escaped in one place.
//
// A chart is one <svg id=... data-points=N> with a visible title, axes with tick labels and
// titles (units in the title), grid lines, a legend and data marks; every data mark carries
// class "mark" and a <title> tooltip with its values, and counts toward data-points.
// Not thread-safe; one writer per chart.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace csml::reporting_internal {

// Escapes & < > " ' for HTML/SVG text and attribute values.
std::string EscapeHtml(std::string_view text);

struct Rect {
  double x = 0;
  double y = 0;
  double width = 0;
  double height = 0;
};

// Maps [domain_min, domain_max] linearly onto [range_min, range_max] (pixels).
class LinearScale {
 public:
  LinearScale() = default;
  LinearScale(double domain_min, double domain_max, double range_min, double range_max);
  double operator()(double value) const;

 private:
  double domain_min_ = 0;
  double domain_max_ = 1;
  double range_min_ = 0;
  double range_max_ = 1;
};

// The round step (1, 2 or 5 times a power of ten) at or above `raw` (> 0; 1 otherwise).
double NiceStep(double raw);

// About `count` round tick values (steps of NiceStep((hi - lo) / count)) from the first
// multiple of the step at or above lo to the last at or below hi. Empty when hi <= lo.
std::vector<double> NiceTicks(double lo, double hi, int count);

// An axis end for values up to `value`: the first multiple of NiceStep(value / tick_count) at
// or above it, so the axis ends on a labeled tick of NiceTicks(0, end, tick_count)
// (value > 0; 1 otherwise).
double NiceCeiling(double value, int tick_count = 5);

enum class NumberFormat : unsigned char {
  kDecimal,  // 0.25
  kPercent,  // 25%  (the value is a share)
  kInteger,  // 1,234
};

// A value as an axis or label shows it: decimals enough for `step` (the tick spacing; 0 =
// choose from the value).
std::string FormatValue(double value, NumberFormat format, double step = 0);

struct AxisSpec {
  std::string title;  // with units: "Customers contacted (% of all, riskiest first)"
  double min = 0;
  double max = 1;
  NumberFormat format = NumberFormat::kDecimal;
  int tick_count = 5;
};

// Stroke and fill of a mark; colors are CSS colors from this file, never from data.
struct Style {
  std::string stroke = "none";
  std::string fill = "none";
  double stroke_width = 2;
  std::string dash;  // stroke-dasharray, "" = solid
  double opacity = 1;
};

enum class LegendSymbol : unsigned char { kLine, kDashedLine, kBar, kPoint };

struct LegendEntry {
  std::string label;
  LegendSymbol symbol = LegendSymbol::kLine;
  std::string color;
};

// A plot area with its two scales; the axes are drawn when the panel is added.
struct Panel {
  Rect area;
  LinearScale x;
  LinearScale y;
};

enum class Anchor : unsigned char { kStart, kMiddle, kEnd };

class SvgChart {
 public:
  // `description` is the <desc> read by screen readers: what the chart shows.
  SvgChart(std::string id, std::string title, std::string description, double width, double height);

  double width() const { return width_; }
  double height() const { return height_; }

  // A numeric panel: grid lines, ticks and tick labels, axis titles.
  Panel AddPanel(const Rect& area, const AxisSpec& x, const AxisSpec& y);

  // A panel whose x axis holds named categories (evenly spaced bands) and numeric y. The
  // returned x scale maps a band index i to the band's left edge; band_width gives its width.
  Panel AddCategoryPanel(const Rect& area, std::span<const std::string> categories,
                         const std::string& x_title, const AxisSpec& y, double* band_width);

  // A panel with named categories down the y axis (horizontal bars) and numeric x. The y
  // scale maps a band index to the band's top edge.
  Panel AddHorizontalCategoryPanel(const Rect& area, std::span<const std::string> categories,
                                   const AxisSpec& x, double* band_height);

  // Data marks (each counts toward data-points). Points are in data units of the panel.
  void Polyline(const Panel& panel, std::span<const std::pair<double, double>> points,
                const Style& style, std::string_view tooltip);
  void Point(const Panel& panel, double x, double y, double radius, const Style& style,
             std::string_view tooltip);
  // A bar in pixels (the caller computes bands); clipped to a visible minimum height of 0.
  void Bar(double x, double y, double width, double height, const std::string& fill,
           std::string_view tooltip);

  // Decoration (not data): a reference line in data units, a pixel line, text.
  void ReferenceLine(const Panel& panel, double x1, double y1, double x2, double y2,
                     const Style& style);
  void PixelLine(double x1, double y1, double x2, double y2, const Style& style);
  void Text(double x, double y, std::string_view text, Anchor anchor, double size,
            std::string_view css_class = "");
  // A row of legend entries starting at (x, y) (the middle of the row), left to right.
  void Legend(double x, double y, std::span<const LegendEntry> entries);

  // A centered message in place of the data ("not recorded in meta.json").
  void EmptyMessage(std::string_view message);

  std::size_t points() const { return points_; }

  // The <svg> element with everything added.
  std::string Finish() const;

 private:
  void AxisTitles(const Rect& area, std::string_view x_title, std::string_view y_title);

  std::string id_;
  std::string title_;
  std::string description_;
  double width_;
  double height_;
  std::string body_;
  std::size_t points_ = 0;
};

}  // namespace csml::reporting_internal
