#include "svg_chart.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace csml::reporting_internal {
namespace {

constexpr char kGridColor[] = "#e5e7eb";
constexpr char kAxisColor[] = "#6b7280";
constexpr char kTickTextClass[] = "tick";
constexpr double kTickFont = 11;
constexpr double kLegendFont = 12;

std::string Px(double v) {
  // One decimal is below a pixel's width at any zoom a report is read at; -0.0 prints as 0.
  const double rounded = std::round(v * 10.0) / 10.0;
  return fmt::format("{:.1f}", rounded == 0.0 ? 0.0 : rounded);
}

std::string StyleAttributes(const Style& s) {
  std::string out = fmt::format(R"(fill="{}" stroke="{}" stroke-width="{}")", s.fill, s.stroke,
                                Px(s.stroke_width));
  if (!s.dash.empty()) out += fmt::format(R"( stroke-dasharray="{}")", s.dash);
  if (s.opacity < 1) out += fmt::format(R"( opacity="{:.2f}")", s.opacity);
  return out;
}

std::string TooltipElement(std::string_view tooltip) {
  return tooltip.empty() ? std::string() : "<title>" + EscapeHtml(tooltip) + "</title>";
}

const char* AnchorName(Anchor anchor) {
  switch (anchor) {
    case Anchor::kStart:
      return "start";
    case Anchor::kMiddle:
      return "middle";
    case Anchor::kEnd:
      return "end";
  }
  return "start";
}

// The fewest decimals (up to 4) that print every multiple of `step` exactly.
int DecimalsFor(double step) {
  for (int d = 0; d < 4; ++d) {
    const double scaled = step * std::pow(10.0, d);
    if (std::fabs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) return d;
  }
  return 4;
}

double TickStep(const std::vector<double>& ticks) {
  return ticks.size() >= 2 ? ticks[1] - ticks[0] : 0.0;
}

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

LinearScale::LinearScale(double domain_min, double domain_max, double range_min, double range_max)
    : domain_min_(domain_min),
      domain_max_(domain_max),
      range_min_(range_min),
      range_max_(range_max) {}

double LinearScale::operator()(double value) const {
  const double span = domain_max_ - domain_min_;
  if (span == 0) return range_min_;
  return range_min_ + (value - domain_min_) / span * (range_max_ - range_min_);
}

double NiceStep(double raw) {
  if (!(raw > 0) || !std::isfinite(raw)) return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double normalized = raw / magnitude;
  if (normalized <= 1 + 1e-9) return magnitude;
  if (normalized <= 2 + 1e-9) return 2 * magnitude;
  if (normalized <= 5 + 1e-9) return 5 * magnitude;
  return 10 * magnitude;
}

std::vector<double> NiceTicks(double lo, double hi, int count) {
  std::vector<double> ticks;
  if (!(hi > lo) || count < 1 || !std::isfinite(lo) || !std::isfinite(hi)) return ticks;
  const double step = NiceStep((hi - lo) / count);
  const double first = std::ceil(lo / step - 1e-9);
  const double last = std::floor(hi / step + 1e-9);
  for (double k = first; k <= last; k += 1) {
    const double v = k * step;
    ticks.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  }
  return ticks;
}

double NiceCeiling(double value, int tick_count) {
  if (!(value > 0) || !std::isfinite(value) || tick_count < 1) return 1;
  const double step = NiceStep(value / tick_count);
  return std::ceil(value / step - 1e-9) * step;
}

std::string FormatValue(double value, NumberFormat format, double step) {
  if (!std::isfinite(value)) return "n/a";
  switch (format) {
    case NumberFormat::kPercent: {
      const double pct = value * 100;
      // A tick shows the decimals its step needs (5%, 2.5%); a lone value shows one.
      const int decimals = step > 0 ? DecimalsFor(step * 100) : 1;
      return fmt::format("{:.{}f}%", pct, decimals);
    }
    case NumberFormat::kInteger: {
      const auto n = static_cast<long long>(std::llround(value));
      const std::string digits = std::to_string(n < 0 ? -n : n);
      std::string out;
      for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
      }
      return n < 0 ? "-" + out : out;
    }
    case NumberFormat::kDecimal:
      break;
  }
  int decimals = 2;
  if (step > 0) {
    decimals = DecimalsFor(step);
  } else if (std::fabs(value) >= 100) {
    decimals = 0;
  } else if (std::fabs(value) >= 10) {
    decimals = 1;
  }
  return fmt::format("{:.{}f}", value, decimals);
}

SvgChart::SvgChart(std::string id, std::string title, std::string description, double width,
                   double height)
    : id_(std::move(id)),
      title_(std::move(title)),
      description_(std::move(description)),
      width_(width),
      height_(height) {
  Text(16, 26, title_, Anchor::kStart, 16, "chart-title");
}

void SvgChart::AxisTitles(const Rect& area, std::string_view x_title, std::string_view y_title) {
  if (!x_title.empty()) {
    Text(area.x + area.width / 2, area.y + area.height + 38, x_title, Anchor::kMiddle, 12,
         "axis-title");
  }
  if (!y_title.empty()) {
    const double x = area.x - 50;
    const double y = area.y + area.height / 2;
    body_ += fmt::format(
        R"svg(<text class="axis-title" x="{}" y="{}" text-anchor="middle" font-size="12" )svg"
        R"svg(transform="rotate(-90 {} {})">{}</text>)svg",
        Px(x), Px(y), Px(x), Px(y), EscapeHtml(y_title));
    body_ += '\n';
  }
}

Panel SvgChart::AddPanel(const Rect& area, const AxisSpec& x, const AxisSpec& y) {
  Panel panel{area, LinearScale(x.min, x.max, area.x, area.x + area.width),
              LinearScale(y.min, y.max, area.y + area.height, area.y)};
  const Style grid{kGridColor, "none", 1, "", 1};
  const std::vector<double> x_ticks = NiceTicks(x.min, x.max, x.tick_count);
  const std::vector<double> y_ticks = NiceTicks(y.min, y.max, y.tick_count);
  for (const double t : x_ticks) {
    const double px = panel.x(t);
    PixelLine(px, area.y, px, area.y + area.height, grid);
    Text(px, area.y + area.height + 16, FormatValue(t, x.format, TickStep(x_ticks)),
         Anchor::kMiddle, kTickFont, kTickTextClass);
  }
  for (const double t : y_ticks) {
    const double py = panel.y(t);
    PixelLine(area.x, py, area.x + area.width, py, grid);
    Text(area.x - 6, py + 4, FormatValue(t, y.format, TickStep(y_ticks)), Anchor::kEnd, kTickFont,
         kTickTextClass);
  }
  const Style axis{kAxisColor, "none", 1, "", 1};
  PixelLine(area.x, area.y + area.height, area.x + area.width, area.y + area.height, axis);
  PixelLine(area.x, area.y, area.x, area.y + area.height, axis);
  AxisTitles(area, x.title, y.title);
  return panel;
}

Panel SvgChart::AddCategoryPanel(const Rect& area, std::span<const std::string> categories,
                                 const std::string& x_title, const AxisSpec& y,
                                 double* band_width) {
  const double n = static_cast<double>(std::max<std::size_t>(categories.size(), 1));
  *band_width = area.width / n;
  Panel panel{area, LinearScale(0, n, area.x, area.x + area.width),
              LinearScale(y.min, y.max, area.y + area.height, area.y)};
  const Style grid{kGridColor, "none", 1, "", 1};
  const std::vector<double> y_ticks = NiceTicks(y.min, y.max, y.tick_count);
  for (const double t : y_ticks) {
    const double py = panel.y(t);
    PixelLine(area.x, py, area.x + area.width, py, grid);
    Text(area.x - 6, py + 4, FormatValue(t, y.format, TickStep(y_ticks)), Anchor::kEnd, kTickFont,
         kTickTextClass);
  }
  for (std::size_t i = 0; i < categories.size(); ++i) {
    Text(panel.x(static_cast<double>(i)) + *band_width / 2, area.y + area.height + 16,
         categories[i], Anchor::kMiddle, 12, "category");
  }
  const Style axis{kAxisColor, "none", 1, "", 1};
  PixelLine(area.x, area.y + area.height, area.x + area.width, area.y + area.height, axis);
  PixelLine(area.x, area.y, area.x, area.y + area.height, axis);
  AxisTitles(area, x_title, y.title);
  return panel;
}

Panel SvgChart::AddHorizontalCategoryPanel(const Rect& area,
                                           std::span<const std::string> categories,
                                           const AxisSpec& x, double* band_height) {
  const double n = static_cast<double>(std::max<std::size_t>(categories.size(), 1));
  *band_height = area.height / n;
  Panel panel{area, LinearScale(x.min, x.max, area.x, area.x + area.width),
              LinearScale(0, n, area.y, area.y + area.height)};
  const Style grid{kGridColor, "none", 1, "", 1};
  const std::vector<double> x_ticks = NiceTicks(x.min, x.max, x.tick_count);
  for (const double t : x_ticks) {
    const double px = panel.x(t);
    PixelLine(px, area.y, px, area.y + area.height, grid);
    Text(px, area.y + area.height + 16, FormatValue(t, x.format, TickStep(x_ticks)),
         Anchor::kMiddle, kTickFont, kTickTextClass);
  }
  for (std::size_t i = 0; i < categories.size(); ++i) {
    Text(area.x - 8, panel.y(static_cast<double>(i)) + *band_height / 2 + 4, categories[i],
         Anchor::kEnd, 12, "category");
  }
  const Style axis{kAxisColor, "none", 1, "", 1};
  PixelLine(area.x, area.y, area.x, area.y + area.height, axis);
  PixelLine(area.x, area.y + area.height, area.x + area.width, area.y + area.height, axis);
  AxisTitles(area, x.title, "");
  return panel;
}

void SvgChart::Polyline(const Panel& panel, std::span<const std::pair<double, double>> points,
                        const Style& style, std::string_view tooltip) {
  std::string coordinates;
  std::size_t drawn = 0;
  for (const auto& [x, y] : points) {
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    if (drawn++ > 0) coordinates += ' ';
    coordinates += Px(panel.x(x));
    coordinates += ',';
    coordinates += Px(panel.y(y));
  }
  if (drawn == 0) return;
  body_ += fmt::format(R"(<polyline class="mark" points="{}" {} stroke-linejoin="round">{})",
                       coordinates, StyleAttributes(style), TooltipElement(tooltip));
  body_ += "</polyline>\n";
  points_ += drawn;
}

void SvgChart::Point(const Panel& panel, double x, double y, double radius, const Style& style,
                     std::string_view tooltip) {
  if (!std::isfinite(x) || !std::isfinite(y)) return;
  body_ +=
      fmt::format(R"(<circle class="mark" cx="{}" cy="{}" r="{}" {}>{}</circle>)", Px(panel.x(x)),
                  Px(panel.y(y)), Px(radius), StyleAttributes(style), TooltipElement(tooltip));
  body_ += '\n';
  ++points_;
}

void SvgChart::Bar(double x, double y, double width, double height, const std::string& fill,
                   std::string_view tooltip) {
  if (!std::isfinite(x) || !std::isfinite(y) || !std::isfinite(width) || !std::isfinite(height)) {
    return;
  }
  body_ += fmt::format(R"(<rect class="mark" x="{}" y="{}" width="{}" height="{}" fill="{}">{})",
                       Px(x), Px(y), Px(std::max(width, 0.0)), Px(std::max(height, 0.0)), fill,
                       TooltipElement(tooltip));
  body_ += "</rect>\n";
  ++points_;
}

void SvgChart::ReferenceLine(const Panel& panel, double x1, double y1, double x2, double y2,
                             const Style& style) {
  PixelLine(panel.x(x1), panel.y(y1), panel.x(x2), panel.y(y2), style);
}

void SvgChart::PixelLine(double x1, double y1, double x2, double y2, const Style& style) {
  if (!std::isfinite(x1) || !std::isfinite(y1) || !std::isfinite(x2) || !std::isfinite(y2)) {
    return;
  }
  body_ += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" {}/>)", Px(x1), Px(y1), Px(x2),
                       Px(y2), StyleAttributes(style));
  body_ += '\n';
}

void SvgChart::Text(double x, double y, std::string_view text, Anchor anchor, double size,
                    std::string_view css_class) {
  body_ += fmt::format(R"(<text x="{}" y="{}" text-anchor="{}" font-size="{}")", Px(x), Px(y),
                       AnchorName(anchor), Px(size));
  if (!css_class.empty()) body_ += fmt::format(R"( class="{}")", EscapeHtml(css_class));
  body_ += '>';
  body_ += EscapeHtml(text);
  body_ += "</text>\n";
}

void SvgChart::Legend(double x, double y, std::span<const LegendEntry> entries) {
  double at = x;
  for (const LegendEntry& e : entries) {
    // No text measuring without a browser: an average glyph of DejaVu/Arial at 12 px is
    // about 6.6 px wide, which spaces entries without overlap and wraps before the edge.
    const double entry_width = 26 + static_cast<double>(e.label.size()) * 6.6 + 18;
    if (at > x && at + entry_width - 18 > width_ - 8) {
      at = x;
      y += 18;
    }
    switch (e.symbol) {
      case LegendSymbol::kLine:
        PixelLine(at, y, at + 20, y, Style{e.color, "none", 2.5, "", 1});
        break;
      case LegendSymbol::kDashedLine:
        PixelLine(at, y, at + 20, y, Style{e.color, "none", 1.5, "5 4", 1});
        break;
      case LegendSymbol::kBar:
        body_ += fmt::format(R"(<rect x="{}" y="{}" width="14" height="12" fill="{}"/>)",
                             Px(at + 3), Px(y - 6), e.color);
        body_ += '\n';
        break;
      case LegendSymbol::kPoint:
        body_ += fmt::format(R"(<circle cx="{}" cy="{}" r="4.5" fill="{}"/>)", Px(at + 10), Px(y),
                             e.color);
        body_ += '\n';
        break;
    }
    Text(at + 26, y + 4, e.label, Anchor::kStart, kLegendFont, "legend");
    at += entry_width;
  }
}

void SvgChart::EmptyMessage(std::string_view message) {
  Text(width_ / 2, height_ / 2, message, Anchor::kMiddle, 14, "empty");
}

std::string SvgChart::Finish() const {
  std::string out =
      fmt::format(R"(<svg id="{0}" class="chart" viewBox="0 0 {1} {2}" width="{1}" height="{2}" )"
                  R"(role="img" aria-labelledby="{0}-title {0}-desc" data-points="{3}">)",
                  EscapeHtml(id_), Px(width_), Px(height_), points_);
  out +=
      fmt::format(R"(<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>)", EscapeHtml(id_),
                  EscapeHtml(title_), EscapeHtml(id_), EscapeHtml(description_));
  out += '\n';
  out += body_;
  out += "</svg>\n";
  return out;
}

}  // namespace csml::reporting_internal
