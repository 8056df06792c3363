#include "csml/data/snapshot_reader.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>

#include "csml/core/time.h"
#include "csml/features/schema.h"

namespace csml {
namespace {

namespace dom = simdjson::dom;

// simdjson cannot index more than 4 GB in one document.
constexpr std::size_t kMaxDocumentBytes = 0xFFFFFFFFu;
constexpr std::size_t kMinRecordBytes = 1024;
// Shortest text of a valid record (one-letter userId, all required features 0 or null).
constexpr std::size_t kMinValidRecordBytes = 160;

// ---- describing what came --------------------------------------------------------------------

std::string Shorten(std::string_view text) {
  constexpr std::size_t kMaxShown = 40;
  if (text.size() <= kMaxShown) return std::string(text);
  return fmt::format("{}...", text.substr(0, kMaxShown));
}

// "string \"abc\"", "number 1.5", "true", "null", "an object", "an array".
std::string Describe(dom::element value) {
  switch (value.type()) {
    case dom::element_type::STRING:
      return fmt::format("string \"{}\"", Shorten(value.get_string().value_unsafe()));
    case dom::element_type::INT64:
      return fmt::format("number {}", value.get_int64().value_unsafe());
    case dom::element_type::UINT64:
      return fmt::format("number {}", value.get_uint64().value_unsafe());
    case dom::element_type::DOUBLE:
      return fmt::format("number {}", value.get_double().value_unsafe());
    case dom::element_type::BOOL:
      return value.get_bool().value_unsafe() ? "true" : "false";
    case dom::element_type::NULL_VALUE:
      return "null";
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::ARRAY:
      return "an array";
  }
  return "an unknown value";
}

bool IsNumber(dom::element value) {
  const dom::element_type t = value.type();
  return t == dom::element_type::INT64 || t == dom::element_type::UINT64 ||
         t == dom::element_type::DOUBLE;
}

// ---- one record ------------------------------------------------------------------------------

struct Invalid {
  std::string field;
  std::string message;
};

constexpr std::string_view kMissingMessage = "required field is missing";
constexpr std::string_view kRepeatedMessage = "appears more than once";

std::string FeatureField(std::string_view name) { return fmt::format("features.{}", name); }

// Index of a features key: 0..7 the numeric features in schema order, 8 region, -1 unknown.
// Records usually list features in schema order, so the key after the previous match is tried
// first.
constexpr int kRegionIndex = static_cast<int>(kNumNumericFeatures);

int FeatureIndex(std::string_view key, int guess) {
  if (guess < kRegionIndex) {
    if (kNumericFeatureSpecs[static_cast<std::size_t>(guess)].name == key) return guess;
  } else if (guess == kRegionIndex && key == kRegionFeatureName) {
    return kRegionIndex;
  }
  for (std::size_t i = 0; i < kNumNumericFeatures; ++i) {
    if (kNumericFeatureSpecs[i].name == key) return static_cast<int>(i);
  }
  if (key == kRegionFeatureName) return kRegionIndex;
  return -1;
}

std::optional<Invalid> ParseFeatures(dom::element value, RawFeatures* features) {
  dom::object object;
  if (value.get_object().get(object) != simdjson::SUCCESS) {
    return Invalid{"features", fmt::format("expected an object, got {}", Describe(value))};
  }
  std::uint32_t seen = 0;
  int guess = 0;
  for (const dom::key_value_pair field : object) {
    const int index = FeatureIndex(field.key, guess);
    if (index < 0) continue;  // the CS API may add features before a model uses them
    guess = index + 1;
    const std::uint32_t bit = 1u << index;
    if ((seen & bit) != 0) return Invalid{FeatureField(field.key), std::string(kRepeatedMessage)};
    seen |= bit;
    const dom::element v = field.value;
    if (index == kRegionIndex) {
      std::string_view text;
      if (v.get_string().get(text) == simdjson::SUCCESS) {
        features->region = ParseRegion(text);
      } else if (v.is_null()) {
        features->region = Region::kMissing;
      } else {
        return Invalid{FeatureField(field.key),
                       fmt::format("expected a string or null, got {}", Describe(v))};
      }
      continue;
    }
    const auto feature = static_cast<NumericFeature>(index);
    if (v.is_null()) {
      features->Set(feature, std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    if (!IsNumber(v)) {
      return Invalid{FeatureField(field.key),
                     fmt::format("expected a number or null, got {}", Describe(v))};
    }
    const double number = v.get_double().value_unsafe();
    if (Status in_range = CheckRange(feature, number); !in_range) {
      return Invalid{FeatureField(field.key), std::move(in_range.error().message)};
    }
    features->Set(feature, number);
  }
  for (std::size_t i = 0; i < kNumNumericFeatures; ++i) {
    if (kNumericFeatureSpecs[i].required && (seen & (1u << i)) == 0) {
      return Invalid{FeatureField(kNumericFeatureSpecs[i].name), std::string(kMissingMessage)};
    }
  }
  if (kRegionRequired && (seen & (1u << kRegionIndex)) == 0) {
    return Invalid{FeatureField(kRegionFeatureName), std::string(kMissingMessage)};
  }
  return std::nullopt;
}

std::optional<Invalid> ParseUserId(dom::element value, std::string* user_id) {
  std::array<char, 24> digits{};
  switch (value.type()) {
    case dom::element_type::STRING: {
      const std::string_view text = value.get_string().value_unsafe();
      if (text.empty()) return Invalid{"userId", "expected a non-empty string, got \"\""};
      user_id->assign(text);
      return std::nullopt;
    }
    case dom::element_type::INT64: {
      const auto r = std::to_chars(digits.data(), digits.data() + digits.size(),
                                   value.get_int64().value_unsafe());
      user_id->assign(digits.data(), r.ptr);
      return std::nullopt;
    }
    case dom::element_type::UINT64: {
      const auto r = std::to_chars(digits.data(), digits.data() + digits.size(),
                                   value.get_uint64().value_unsafe());
      user_id->assign(digits.data(), r.ptr);
      return std::nullopt;
    }
    default:
      return Invalid{"userId", fmt::format("expected a string, got {}", Describe(value))};
  }
}

std::optional<Invalid> ParseTime(dom::element value, std::string_view field, UnixSeconds* t) {
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return Invalid{std::string(field),
                   fmt::format("expected an RFC 3339 date-time string, got {}", Describe(value))};
  }
  Result<UnixSeconds> parsed = ParseRfc3339(text);
  if (!parsed) return Invalid{std::string(field), std::move(parsed.error().message)};
  *t = *parsed;
  return std::nullopt;
}

// Top-level keys a record may carry; others are ignored.
constexpr std::size_t kUserId = 0;
constexpr std::size_t kSnapshotTs = 1;
constexpr std::size_t kFeatures = 2;
constexpr std::size_t kLabel = 3;
constexpr std::size_t kLabelTs = 4;
constexpr std::size_t kNumTopKeys = 5;
constexpr std::array<std::string_view, kNumTopKeys> kTopKeyNames = {
    "userId", "snapshot_ts", "features", "label", "label_ts"};

// Parses one record into *out. The first problem is reported in a fixed field order (userId,
// snapshot_ts, features, label, label_ts) whatever the key order of the record.
std::optional<Invalid> ParseRecord(dom::element record, Snapshot* out) {
  dom::object object;
  if (record.get_object().get(object) != simdjson::SUCCESS) {
    return Invalid{"", fmt::format("expected a JSON object, got {}", Describe(record))};
  }
  std::array<dom::element, kNumTopKeys> values{};
  std::array<bool, kNumTopKeys> present{};
  std::size_t guess = 0;
  for (const dom::key_value_pair field : object) {
    std::size_t i = kNumTopKeys;
    if (guess < kNumTopKeys && kTopKeyNames[guess] == field.key) {
      i = guess;
    } else {
      for (std::size_t k = 0; k < kNumTopKeys; ++k) {
        if (kTopKeyNames[k] == field.key) {
          i = k;
          break;
        }
      }
    }
    if (i == kNumTopKeys) continue;
    guess = i + 1;
    if (present[i]) return Invalid{std::string(field.key), std::string(kRepeatedMessage)};
    present[i] = true;
    values[i] = field.value;
  }

  for (const std::size_t i : {kUserId, kSnapshotTs, kFeatures}) {
    if (!present[i]) return Invalid{std::string(kTopKeyNames[i]), std::string(kMissingMessage)};
  }
  if (auto bad = ParseUserId(values[kUserId], &out->user_id)) return bad;
  if (auto bad = ParseTime(values[kSnapshotTs], "snapshot_ts", &out->snapshot_ts)) return bad;
  if (auto bad = ParseFeatures(values[kFeatures], &out->features)) return bad;

  out->label.reset();
  if (present[kLabel] && !values[kLabel].is_null()) {
    const dom::element v = values[kLabel];
    const double label = IsNumber(v) ? v.get_double().value_unsafe() : -1.0;
    if (label != 0.0 && label != 1.0) {
      return Invalid{"label", fmt::format("expected 0, 1 or null, got {}", Describe(v))};
    }
    out->label = static_cast<std::int8_t>(label);
  }

  out->label_ts.reset();
  if (present[kLabelTs] && !values[kLabelTs].is_null()) {
    UnixSeconds label_ts = 0;
    if (auto bad = ParseTime(values[kLabelTs], "label_ts", &label_ts)) return bad;
    if (label_ts <= out->snapshot_ts) {
      return Invalid{"label_ts",
                     fmt::format("expected a time after snapshot_ts {}, got {}",
                                 FormatRfc3339(out->snapshot_ts), FormatRfc3339(label_ts))};
    }
    out->label_ts = label_ts;
  } else if (out->label.has_value()) {
    // Without a time the outcome cannot be placed in a training window.
    return Invalid{"label_ts",
                   fmt::format("expected an RFC 3339 date-time when label is {}, got {}",
                               *out->label, present[kLabelTs] ? "null" : "nothing")};
  }
  return std::nullopt;
}

// ---- the whole input -------------------------------------------------------------------------

std::string FormatProblem(std::size_t record, std::string_view field, std::string_view message) {
  if (field.empty()) return fmt::format("record {}: {}", record, message);
  return fmt::format("record {}, field {}: {}", record, field, message);
}

// Collects records into a batch according to the options.
class BatchBuilder {
 public:
  explicit BatchBuilder(const SnapshotReadOptions& options) : options_(options) {}

  // Parses one record; an Error only under kFail.
  Status Add(dom::element record) {
    const std::size_t index = batch_.records_seen++;
    Snapshot& slot = batch_.records.emplace_back();
    std::optional<Invalid> bad = ParseRecord(record, &slot);
    if (!bad) return {};
    batch_.records.pop_back();
    if (options_.on_invalid == SnapshotReadOptions::OnInvalid::kFail) {
      return MakeError(ErrorCode::kValidation, FormatProblem(index, bad->field, bad->message));
    }
    ++batch_.records_invalid;
    if (batch_.problems.size() < options_.max_problems_kept) {
      batch_.problems.push_back({index, std::move(bad->field), std::move(bad->message)});
    }
    return {};
  }

  std::size_t records_seen() const { return batch_.records_seen; }
  void Reserve(std::size_t n) { batch_.records.reserve(n); }
  SnapshotBatch Take() && { return std::move(batch_); }

 private:
  const SnapshotReadOptions& options_;
  SnapshotBatch batch_;
};

std::size_t LineOf(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<std::size_t>(std::count(
                 text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

tl::unexpected<Error> MalformedAt(std::string_view text, std::size_t record, std::size_t offset,
                                  std::string_view what) {
  return MakeError(ErrorCode::kParse,
                   fmt::format("record {} (line {}, byte {}): malformed JSON: {}", record,
                               LineOf(text, offset), offset, what));
}

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Parses text[begin, end) alone; used only to pinpoint an error after simdjson reported one
// for a larger span, so speed does not matter.
simdjson::error_code ParseAlone(dom::parser& parser, std::string_view text) {
  const simdjson::padded_string copy(text);
  return parser.parse(copy).error();
}

// simdjson reports a malformed batch at the batch's first record; this walks the lines from
// there and parses each alone to name the first bad one.
tl::unexpected<Error> LocateMalformedLine(std::string_view text, std::size_t record,
                                          std::size_t offset, simdjson::error_code reported) {
  dom::parser parser;
  std::size_t pos = std::min(offset, text.size());
  while (pos > 0 && text[pos - 1] != '\n') --pos;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    if (!std::all_of(line.begin(), line.end(), IsJsonSpace)) {
      const simdjson::error_code error = ParseAlone(parser, line);
      if (error != simdjson::SUCCESS) {
        return MalformedAt(text, record, pos, simdjson::error_message(error));
      }
      ++record;
    }
    pos = end + 1;
  }
  // The lines parse one by one (a record spans lines): keep simdjson's position.
  return MalformedAt(text, record, offset, simdjson::error_message(reported));
}

Result<SnapshotBatch> ParseJsonLines(std::string_view text, const SnapshotReadOptions& options) {
  BatchBuilder builder(options);
  // A valid record takes at least ~200 bytes, so this bounds the count from above. Reserving
  // only reserves address space: pages never written cost nothing, and the vector never
  // grows (growing would copy every record parsed so far).
  builder.Reserve(text.size() / kMinValidRecordBytes + 1);
  dom::parser parser;
  dom::document_stream stream;
  const std::size_t batch_bytes = std::max(options.max_record_bytes, std::size_t{kMinRecordBytes});
  if (const auto error = parser.parse_many(text.data(), text.size(), batch_bytes).get(stream);
      error != simdjson::SUCCESS) {
    return MalformedAt(text, 0, 0, simdjson::error_message(error));
  }
  std::size_t last_offset = 0;
  for (auto it = stream.begin(); it != stream.end(); ++it) {
    dom::element record;
    const simdjson::error_code error = (*it).get(record);
    const std::size_t offset = it.current_index();
    if (error == simdjson::CAPACITY) {
      return MalformedAt(text, builder.records_seen(), offset,
                         fmt::format("a record is longer than max_record_bytes ({})", batch_bytes));
    }
    if (error != simdjson::SUCCESS) {
      return LocateMalformedLine(text, builder.records_seen(), offset, error);
    }
    last_offset = offset;
    if (Status added = builder.Add(record); !added) return tl::unexpected(added.error());
  }
  // simdjson leaves an incomplete last document unparsed rather than failing. (Its count is
  // meaningless for an input without documents, hence the bound.)
  if (const std::size_t truncated = stream.truncated_bytes();
      truncated > 0 && truncated <= text.size()) {
    const std::size_t offset = text.size() - truncated;
    const simdjson::error_code error = ParseAlone(parser, text.substr(offset));
    return MalformedAt(text, builder.records_seen(), std::max(offset, last_offset),
                       error != simdjson::SUCCESS ? simdjson::error_message(error)
                                                  : "incomplete record at the end of the input");
  }
  return std::move(builder).Take();
}

// Walks a JSON array element by element (strings and nesting aware) and parses each alone, to
// name the element simdjson's whole-document error came from.
tl::unexpected<Error> LocateMalformedElement(std::string_view text, std::size_t start,
                                             simdjson::error_code reported) {
  dom::parser parser;
  std::size_t pos = start + 1;  // after '['
  std::size_t record = 0;
  const auto skip_space = [&] {
    while (pos < text.size() && IsJsonSpace(text[pos])) ++pos;
  };
  skip_space();
  if (pos < text.size() && text[pos] == ']') {
    ++pos;
    skip_space();
    return MalformedAt(text, 0, pos, "unexpected text after the array");
  }
  while (pos < text.size()) {
    const std::size_t begin = pos;
    int depth = 0;
    bool in_string = false;
    for (; pos < text.size(); ++pos) {
      const char c = text[pos];
      if (in_string) {
        if (c == '\\') {
          ++pos;
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (depth == 0) break;
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    const simdjson::error_code error = ParseAlone(parser, text.substr(begin, pos - begin));
    if (error != simdjson::SUCCESS) {
      return MalformedAt(text, record, begin, simdjson::error_message(error));
    }
    if (pos >= text.size()) break;
    if (text[pos] == ']') {
      ++pos;
      skip_space();
      if (pos < text.size())
        return MalformedAt(text, record, pos, "unexpected text after the array");
      break;
    }
    if (text[pos] != ',') break;
    ++pos;
    ++record;
    skip_space();
  }
  if (pos >= text.size()) {
    return MalformedAt(text, record, text.size(), "the array is not closed with ']'");
  }
  return MalformedAt(text, record, pos, simdjson::error_message(reported));
}

Result<SnapshotBatch> ParseJsonArray(std::string_view text, std::size_t start,
                                     const SnapshotReadOptions& options) {
  dom::parser parser;
  dom::element root;
  if (const auto error = parser.parse(text.data(), text.size(), false).get(root);
      error != simdjson::SUCCESS) {
    if (error == simdjson::CAPACITY) {
      return MakeError(ErrorCode::kParse,
                       fmt::format("the JSON array is {} bytes, more than the 4 GB one document "
                                   "may have; write the records as JSON Lines",
                                   text.size()));
    }
    return LocateMalformedElement(text, start, error);
  }
  const dom::array records = root.get_array().value_unsafe();
  BatchBuilder builder(options);
  builder.Reserve(records.size());
  for (const dom::element record : records) {
    if (Status added = builder.Add(record); !added) return tl::unexpected(added.error());
  }
  return std::move(builder).Take();
}

// `text` must be followed by simdjson::SIMDJSON_PADDING readable bytes.
Result<SnapshotBatch> ParsePadded(std::string_view text, const SnapshotReadOptions& options) {
  if (options.max_record_bytes < kMinRecordBytes || options.max_record_bytes > kMaxDocumentBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("max_record_bytes: expected a number in [{}, {}], got {}",
                                 kMinRecordBytes, kMaxDocumentBytes, options.max_record_bytes));
  }
  // A UTF-8 byte order mark is not JSON but some editors write one.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::size_t first = 0;
  while (first < text.size() && IsJsonSpace(text[first])) ++first;
  if (first == text.size()) return SnapshotBatch{};
  if (first < text.size() && text[first] == '[') return ParseJsonArray(text, first, options);
  return ParseJsonLines(text, options);
}

}  // namespace

std::string SnapshotProblem::ToString() const { return FormatProblem(record, field, message); }

Result<SnapshotBatch> ParseSnapshots(std::string_view json_text,
                                     const SnapshotReadOptions& options) {
  const simdjson::padded_string padded(json_text);
  if (padded.data() == nullptr && !json_text.empty()) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("out of memory copying {} bytes of JSON", json_text.size()));
  }
  return ParsePadded(std::string_view(padded.data(), padded.size()), options);
}

Result<SnapshotBatch> ReadSnapshotFile(const std::filesystem::path& path,
                                       const SnapshotReadOptions& options) {
  const auto io_error = [&](std::string_view what) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("{}: {}: {}", path.string(), what, std::strerror(errno)));
  };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return io_error("cannot open");
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(file, &std::fclose);
  if (std::fseek(file, 0, SEEK_END) != 0) return io_error("cannot seek");
  const long size = std::ftell(file);
  if (size < 0) return io_error("cannot tell the size");
  if (std::fseek(file, 0, SEEK_SET) != 0) return io_error("cannot seek");
  simdjson::padded_string buffer(static_cast<std::size_t>(size));
  if (buffer.data() == nullptr && size > 0) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("{}: out of memory reading {} bytes", path.string(), size));
  }
  const std::size_t read = std::fread(buffer.data(), 1, buffer.size(), file);
  if (read != buffer.size()) return io_error("short read");
  Result<SnapshotBatch> batch =
      ParsePadded(std::string_view(buffer.data(), buffer.size()), options);
  if (!batch) return tl::unexpected(batch.error().WithContext(path.string()));
  return batch;
}

}  // namespace csml
