#include "csml/data/snapshot_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
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

  // Parses one record; an Error only under kFail. `line_of()` gives the 1-based line the record
  // starts on (0 when not known) and is called only for an invalid record.
  template <typename LineOf>
  Status Add(dom::element record, const LineOf& line_of) {
    const std::size_t index = next_index();
    ++batch_.records_seen;
    Snapshot& slot = batch_.records.emplace_back();
    std::optional<Invalid> bad = ParseRecord(record, &slot);
    if (!bad) return {};
    batch_.records.pop_back();
    if (options_.on_invalid == SnapshotReadOptions::OnInvalid::kFail) {
      return MakeError(ErrorCode::kValidation, FormatProblem(index, bad->field, bad->message));
    }
    ++batch_.records_invalid;
    if (batch_.problems.size() < options_.max_problems_kept) {
      batch_.problems.push_back({index, std::move(bad->field), std::move(bad->message), line_of()});
    }
    return {};
  }

  // The input-wide number of the next record, for messages.
  std::size_t next_index() const { return options_.first_record_index + batch_.records_seen; }
  void Reserve(std::size_t n) { batch_.records.reserve(n); }
  SnapshotBatch Take() && { return std::move(batch_); }

 private:
  const SnapshotReadOptions& options_;
  SnapshotBatch batch_;
};

// ---- positions in the input ----------------------------------------------------------------

// Where a piece of text starts in the whole input, so messages give input-wide positions.
struct TextBase {
  std::size_t offset = 0;  // bytes of input before the piece
  std::size_t line = 1;    // line number of the piece's first byte
};

// Counts '\n' with memchr, which scans many bytes per cycle; records are a few hundred bytes
// long, so the per-call cost is what remains, and it is small next to parsing.
std::size_t CountNewlines(std::string_view text) {
  std::size_t count = 0;
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    const void* hit = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    if (hit == nullptr) break;
    ++count;
    p = static_cast<const char*>(hit) + 1;
  }
  return count;
}

tl::unexpected<Error> MalformedAt(std::string_view text, TextBase base, std::size_t record,
                                  std::size_t offset, std::string_view what) {
  offset = std::min(offset, text.size());
  return MakeError(
      ErrorCode::kParse,
      fmt::format("record {} (line {}, byte {}): malformed JSON: {}", record,
                  base.line + CountNewlines(text.substr(0, offset)), base.offset + offset, what));
}

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Parses `text` alone; used only to pinpoint an error after simdjson reported one for a larger
// span, so speed does not matter.
simdjson::error_code ParseAlone(dom::parser& parser, std::string_view text) {
  const simdjson::padded_string copy(text);
  return parser.parse(copy).error();
}

// simdjson may report a malformed batch at the batch's first record; this walks the lines from
// there and parses each alone to name the first bad one.
tl::unexpected<Error> LocateMalformedLine(std::string_view text, TextBase base, std::size_t record,
                                          std::size_t offset, std::string_view reported) {
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
        return MalformedAt(text, base, record, pos, simdjson::error_message(error));
      }
      ++record;
    }
    pos = end + 1;
  }
  // Every line parses alone (a record spans lines): keep the reported position.
  return MalformedAt(text, base, record, offset, reported);
}

// ---- JSON Lines, in chunks -----------------------------------------------------------------

// Supplies the input in order: copies up to `capacity` bytes to `out` and returns how many;
// 0 means the input has ended.
using ReadBytes = std::function<Result<std::size_t>(char* out, std::size_t capacity)>;

// A reusable window on the input with simdjson's padding after it. Reusing one buffer keeps
// the text in cache and spares the page faults of a buffer as large as the input, which cost
// more than parsing it.
class ChunkBuffer {
 public:
  explicit ChunkBuffer(std::size_t capacity)
      : data_(std::make_unique_for_overwrite<char[]>(capacity + simdjson::SIMDJSON_PADDING)),
        capacity_(capacity) {}

  std::string_view view() const { return {data_.get(), size_}; }
  bool at_end() const { return at_end_; }

  // Reads until the buffer is full or the input ends.
  Status Fill(const ReadBytes& read) {
    while (!at_end_ && size_ < capacity_) {
      Result<std::size_t> n = read(data_.get() + size_, capacity_ - size_);
      if (!n) return tl::unexpected(n.error());
      if (*n == 0) at_end_ = true;
      size_ += *n;
    }
    return {};
  }

  void Consume(std::size_t n) {
    std::memmove(data_.get(), data_.get() + n, size_ - n);
    size_ -= n;
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_;
  std::size_t size_ = 0;
  bool at_end_ = false;
};

std::size_t ChunkBytes(const SnapshotReadOptions& options) {
  constexpr std::size_t kMinChunkBytes = std::size_t{4} << 20;
  return std::max(kMinChunkBytes, 2 * options.max_record_bytes);
}

// Parses the whole records of `chunk`; returns how many bytes were used. When the chunk is not
// the last, an incomplete record at its end is left for the next chunk.
Result<std::size_t> ParseLinesChunk(dom::parser& parser, std::string_view chunk, TextBase base,
                                    bool last, std::size_t batch_bytes, BatchBuilder& builder) {
  dom::document_stream stream;
  if (const auto error = parser.parse_many(chunk.data(), chunk.size(), batch_bytes).get(stream);
      error != simdjson::SUCCESS) {
    return MalformedAt(chunk, base, builder.next_index(), 0, simdjson::error_message(error));
  }
  std::size_t last_offset = 0;
  // Lines are counted only up to invalid records, from the last one counted.
  std::size_t counted_offset = 0;
  std::size_t counted_line = base.line;
  const auto line_at = [&](std::size_t offset) {
    counted_line += CountNewlines(chunk.substr(counted_offset, offset - counted_offset));
    counted_offset = offset;
    return counted_line;
  };
  for (auto it = stream.begin(); it != stream.end(); ++it) {
    dom::element record;
    const simdjson::error_code error = (*it).get(record);
    const std::size_t offset = it.current_index();
    if (error == simdjson::CAPACITY) {
      return MalformedAt(chunk, base, builder.next_index(), offset,
                         fmt::format("a record is longer than max_record_bytes ({})", batch_bytes));
    }
    if (error != simdjson::SUCCESS) {
      return LocateMalformedLine(chunk, base, builder.next_index(), offset,
                                 simdjson::error_message(error));
    }
    last_offset = offset;
    if (Status added = builder.Add(record, [&] { return line_at(offset); }); !added) {
      return tl::unexpected(added.error());
    }
  }
  // simdjson leaves an incomplete last record unparsed rather than failing. (Its count is
  // meaningless for a chunk without records, hence the bound.)
  const std::size_t truncated = stream.truncated_bytes();
  if (truncated == 0 || truncated > chunk.size()) return chunk.size();
  if (!last) return chunk.size() - truncated;
  const std::size_t offset = chunk.size() - truncated;
  const simdjson::error_code error = ParseAlone(parser, chunk.substr(offset));
  return MalformedAt(chunk, base, builder.next_index(), std::max(offset, last_offset),
                     error != simdjson::SUCCESS ? simdjson::error_message(error)
                                                : "incomplete record at the end of the input");
}

// Parses JSON Lines (any whitespace-separated records, in fact) from `buffer`, which may hold
// the start of the input already, then from `read`.
Result<SnapshotBatch> ParseJsonLines(ChunkBuffer& buffer, const ReadBytes& read, TextBase base,
                                     std::size_t size_hint, const SnapshotReadOptions& options) {
  BatchBuilder builder(options);
  // A valid record takes at least kMinValidRecordBytes, so this bounds the count from above.
  // Reserving only reserves address space (pages never written cost nothing) and spares the
  // copies of a growing vector.
  builder.Reserve(size_hint / kMinValidRecordBytes + 1);
  dom::parser parser;
  for (;;) {
    if (Status filled = buffer.Fill(read); !filled) return tl::unexpected(filled.error());
    const std::string_view text = buffer.view();
    if (text.empty()) break;
    // Records are cut at the last newline; a record split there waits for the next chunk.
    std::size_t cut = text.size();
    if (!buffer.at_end()) {
      const std::size_t newline = text.rfind('\n');
      if (newline == std::string_view::npos) {
        return MalformedAt(
            text, base, builder.next_index(), 0,
            fmt::format("a record is longer than max_record_bytes ({})", options.max_record_bytes));
      }
      cut = newline + 1;
    }
    Result<std::size_t> used = ParseLinesChunk(parser, text.substr(0, cut), base, buffer.at_end(),
                                               options.max_record_bytes, builder);
    if (!used) return tl::unexpected(used.error());
    if (*used == 0) {
      // The buffer is full and holds no complete record: a record spans lines without ending.
      return LocateMalformedLine(
          text.substr(0, cut), base, builder.next_index(), 0,
          fmt::format("a record is longer than max_record_bytes ({})", options.max_record_bytes));
    }
    base.line += CountNewlines(text.substr(0, *used));
    base.offset += *used;
    buffer.Consume(*used);
  }
  return std::move(builder).Take();
}

// ---- JSON arrays, whole ----------------------------------------------------------------------

// Walks a JSON array element by element (strings and nesting aware) and parses each alone, to
// name the element simdjson's whole-document error came from.
tl::unexpected<Error> LocateMalformedElement(std::string_view text, TextBase base,
                                             std::size_t first_record,
                                             simdjson::error_code reported) {
  dom::parser parser;
  std::size_t pos = 1;  // after '['
  std::size_t record = first_record;
  const auto skip_space = [&] {
    while (pos < text.size() && IsJsonSpace(text[pos])) ++pos;
  };
  const auto malformed = [&](std::size_t at, std::string_view what) {
    return MalformedAt(text, base, record, at, what);
  };
  skip_space();
  if (pos < text.size() && text[pos] == ']') {
    ++pos;
    skip_space();
    return malformed(pos, "unexpected text after the array");
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
    if (error != simdjson::SUCCESS) return malformed(begin, simdjson::error_message(error));
    if (pos >= text.size()) break;
    if (text[pos] == ']') {
      ++pos;
      skip_space();
      if (pos < text.size()) return malformed(pos, "unexpected text after the array");
      break;
    }
    if (text[pos] != ',') break;
    ++pos;
    ++record;
    skip_space();
  }
  if (pos >= text.size()) return malformed(text.size(), "the array is not closed with ']'");
  return malformed(pos, simdjson::error_message(reported));
}

// `text` starts with '[' and must be followed by simdjson::SIMDJSON_PADDING readable bytes.
Result<SnapshotBatch> ParseJsonArray(std::string_view text, TextBase base,
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
    return LocateMalformedElement(text, base, options.first_record_index, error);
  }
  const dom::array records = root.get_array().value_unsafe();
  BatchBuilder builder(options);
  builder.Reserve(records.size());
  for (const dom::element record : records) {
    // simdjson's DOM keeps no positions: an array element's line is not known.
    if (Status added = builder.Add(record, [] { return std::size_t{0}; }); !added) {
      return tl::unexpected(added.error());
    }
  }
  return std::move(builder).Take();
}

// ---- entry points ----------------------------------------------------------------------------

Status CheckOptions(const SnapshotReadOptions& options) {
  if (options.max_record_bytes < kMinRecordBytes || options.max_record_bytes > kMaxDocumentBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("max_record_bytes: expected a number in [{}, {}], got {}",
                                 kMinRecordBytes, kMaxDocumentBytes, options.max_record_bytes));
  }
  return {};
}

// A UTF-8 byte order mark is not JSON, but some editors write one.
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// Drops a byte order mark and leading whitespace from the view, moving `base` past them.
void SkipLeadingSpace(std::string_view* text, TextBase* base) {
  if (text->substr(0, kByteOrderMark.size()) == kByteOrderMark) {
    text->remove_prefix(kByteOrderMark.size());
    base->offset += kByteOrderMark.size();
  }
  std::size_t first = 0;
  while (first < text->size() && IsJsonSpace((*text)[first])) ++first;
  base->line += CountNewlines(text->substr(0, first));
  base->offset += first;
  text->remove_prefix(first);
}

}  // namespace

std::string SnapshotProblem::ToString() const { return FormatProblem(record, field, message); }

Result<SnapshotBatch> ParseSnapshots(std::string_view json_text,
                                     const SnapshotReadOptions& options) {
  if (Status valid = CheckOptions(options); !valid) return tl::unexpected(valid.error());
  TextBase base;
  SkipLeadingSpace(&json_text, &base);
  if (json_text.empty()) return SnapshotBatch{};
  if (json_text.front() == '[') {
    const simdjson::padded_string padded(json_text);
    if (padded.data() == nullptr) {
      return MakeError(ErrorCode::kIo,
                       fmt::format("out of memory copying {} bytes of JSON", json_text.size()));
    }
    return ParseJsonArray(std::string_view(padded.data(), padded.size()), base, options);
  }
  ChunkBuffer buffer(ChunkBytes(options));
  std::size_t position = 0;
  const ReadBytes read = [&](char* out, std::size_t capacity) -> Result<std::size_t> {
    const std::size_t n = std::min(capacity, json_text.size() - position);
    std::memcpy(out, json_text.data() + position, n);
    position += n;
    return n;
  };
  return ParseJsonLines(buffer, read, base, json_text.size(), options);
}

Result<SnapshotBatch> ReadSnapshotFile(const std::filesystem::path& path,
                                       const SnapshotReadOptions& options) {
  if (Status valid = CheckOptions(options); !valid) return tl::unexpected(valid.error());
  const auto io_error = [&](std::string_view what) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("{}: {}: {}", path.string(), what, std::strerror(errno)));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open");
  const std::unique_ptr<const int, void (*)(const int*)> closer(&fd,
                                                                [](const int* f) { ::close(*f); });
  struct stat info {};
  if (::fstat(fd, &info) != 0) return io_error("cannot stat");
  if (S_ISDIR(info.st_mode)) {
    errno = EISDIR;
    return io_error("cannot read");
  }
  // Pipes report size 0; the size only sizes reservations.
  const auto file_size = static_cast<std::size_t>(std::max<off_t>(info.st_size, 0));
  const ReadBytes read = [&](char* out, std::size_t capacity) -> Result<std::size_t> {
    for (;;) {
      const ssize_t n = ::read(fd, out, capacity);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return io_error("cannot read");
    }
  };

  // Look at the start of the file to tell a JSON array from JSON Lines.
  ChunkBuffer buffer(ChunkBytes(options));
  TextBase base;
  for (;;) {
    if (Status filled = buffer.Fill(read); !filled) return tl::unexpected(filled.error());
    std::string_view head = buffer.view();
    const std::size_t before = head.size();
    SkipLeadingSpace(&head, &base);
    buffer.Consume(before - head.size());
    if (!head.empty() || buffer.at_end()) break;
  }
  Result<SnapshotBatch> batch;
  if (buffer.view().empty()) {
    batch = SnapshotBatch{};
  } else if (buffer.view().front() == '[') {
    // An array is one document: read it whole, keeping simdjson's padding after it.
    std::string text;
    text.reserve(file_size + simdjson::SIMDJSON_PADDING);
    text.append(buffer.view());
    for (;;) {
      constexpr std::size_t kReadBytes = std::size_t{1} << 20;
      const std::size_t old_size = text.size();
      text.resize(old_size + kReadBytes);
      Result<std::size_t> n = read(text.data() + old_size, kReadBytes);
      if (!n) return tl::unexpected(n.error());
      text.resize(old_size + *n);
      if (*n == 0) break;
    }
    text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
    batch = ParseJsonArray(text, base, options);
  } else {
    batch = ParseJsonLines(buffer, read, base, file_size, options);
  }
  if (!batch) return tl::unexpected(batch.error().WithContext(path.string()));
  return batch;
}

// ---- JSON Lines in pieces --------------------------------------------------------------------

static_assert(kSnapshotPiecePadding >= simdjson::SIMDJSON_PADDING);

SnapshotFilePieces::SnapshotFilePieces(std::filesystem::path path, int fd, std::size_t piece_bytes)
    : path_(std::move(path)), fd_(fd), piece_bytes_(std::max<std::size_t>(piece_bytes, 1)) {}

SnapshotFilePieces::~SnapshotFilePieces() { ::close(fd_); }

Result<std::unique_ptr<SnapshotFilePieces>> SnapshotFilePieces::Open(
    const std::filesystem::path& path, const SnapshotReadOptions& options,
    std::size_t piece_bytes) {
  if (Status valid = CheckOptions(options); !valid) return tl::unexpected(valid.error());
  // The same checks and messages as ReadSnapshotFile.
  const auto io_error = [&](std::string_view what) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("{}: {}: {}", path.string(), what, std::strerror(errno)));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open");
  std::unique_ptr<SnapshotFilePieces> pieces(new SnapshotFilePieces(path, fd, piece_bytes));
  struct stat info {};
  if (::fstat(fd, &info) != 0) return io_error("cannot stat");
  if (S_ISDIR(info.st_mode)) {
    errno = EISDIR;
    return io_error("cannot read");
  }
  for (;;) {
    if (Status filled = pieces->FillCarry(pieces->piece_bytes_); !filled) {
      return tl::unexpected(filled.error());
    }
    std::string_view head = pieces->carry_;
    TextBase base{pieces->next_byte_, pieces->next_line_};
    SkipLeadingSpace(&head, &base);
    pieces->carry_.erase(0, pieces->carry_.size() - head.size());
    pieces->next_byte_ = base.offset;
    pieces->next_line_ = base.line;
    if (!pieces->carry_.empty() || pieces->at_end_) break;
  }
  pieces->json_lines_ = !pieces->carry_.empty() && pieces->carry_.front() != '[';
  return pieces;
}

Result<std::size_t> SnapshotFilePieces::ReadSome(char* out, std::size_t capacity) {
  for (;;) {
    const ssize_t n = ::read(fd_, out, capacity);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) {
      return MakeError(ErrorCode::kIo,
                       fmt::format("{}: cannot read: {}", path_.string(), std::strerror(errno)));
    }
  }
}

Status SnapshotFilePieces::FillCarry(std::size_t target) {
  while (!at_end_ && carry_.size() < target) {
    const std::size_t old_size = carry_.size();
    carry_.resize(target);
    Result<std::size_t> n = ReadSome(carry_.data() + old_size, target - old_size);
    carry_.resize(old_size + (n ? *n : 0));
    if (!n) return tl::unexpected(n.error());
    if (*n == 0) at_end_ = true;
  }
  return {};
}

Result<std::optional<SnapshotTextPiece>> SnapshotFilePieces::Next() {
  if (Status filled = FillCarry(piece_bytes_); !filled) return tl::unexpected(filled.error());
  if (carry_.empty()) return std::nullopt;
  std::size_t cut = 0;
  for (;;) {
    if (at_end_) {
      cut = carry_.size();
      break;
    }
    if (const std::size_t newline = carry_.rfind('\n'); newline != std::string::npos) {
      cut = newline + 1;
      break;
    }
    // A line longer than a piece: read on to its end (the parser judges its length).
    if (Status filled = FillCarry(carry_.size() * 2); !filled) {
      return tl::unexpected(filled.error());
    }
  }
  SnapshotTextPiece piece;
  piece.storage = std::make_unique_for_overwrite<char[]>(cut + kSnapshotPiecePadding);
  std::memcpy(piece.storage.get(), carry_.data(), cut);
  std::memset(piece.storage.get() + cut, 0, kSnapshotPiecePadding);
  piece.text = std::string_view(piece.storage.get(), cut);
  piece.first_byte = next_byte_;
  piece.first_line = next_line_;
  next_byte_ += cut;
  next_line_ += CountNewlines(piece.text);
  carry_.erase(0, cut);
  return piece;
}

Result<std::size_t> SnapshotFilePieces::ReadRest(char* out, std::size_t capacity) {
  if (carry_.empty()) return ReadSome(out, capacity);
  const std::size_t n = std::min(capacity, carry_.size());
  std::memcpy(out, carry_.data(), n);
  carry_.erase(0, n);
  return n;
}

Result<SnapshotBatch> ParseSnapshotPiece(const SnapshotTextPiece& piece,
                                         const SnapshotReadOptions& options) {
  if (Status valid = CheckOptions(options); !valid) return tl::unexpected(valid.error());
  BatchBuilder builder(options);
  builder.Reserve(piece.text.size() / kMinValidRecordBytes + 1);
  // One parser per thread: its buffers are sized once, not per piece.
  thread_local dom::parser parser;
  Result<std::size_t> used =
      ParseLinesChunk(parser, piece.text, TextBase{piece.first_byte, piece.first_line},
                      /*last=*/true, options.max_record_bytes, builder);
  if (!used) return tl::unexpected(used.error());
  return std::move(builder).Take();
}

Result<SnapshotBatch> ReadSnapshotLines(const SnapshotByteSource& read, std::size_t first_byte,
                                        std::size_t first_line,
                                        const SnapshotReadOptions& options) {
  if (Status valid = CheckOptions(options); !valid) return tl::unexpected(valid.error());
  ChunkBuffer buffer(ChunkBytes(options));
  return ParseJsonLines(buffer, read, TextBase{first_byte, first_line}, 0, options);
}

}  // namespace csml
