#include "csml/data/snapshot_stream.h"

#include <utility>

#include <fmt/format.h>

namespace csml {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

SnapshotStreamParser::SnapshotStreamParser(SnapshotReadOptions options, std::size_t batch_bytes)
    : options_(options), batch_bytes_(batch_bytes == 0 ? 1 : batch_bytes) {}

Status SnapshotStreamParser::FramingError(std::string_view what) const {
  return MakeError(ErrorCode::kParse, fmt::format("byte {} (after {} records): {}", bytes_fed_,
                                                  records_framed_, what));
}

Status SnapshotStreamParser::Feed(std::string_view chunk) {
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    const char c = chunk[i];
    ++bytes_fed_;
    if (in_record_) {
      current_.push_back(c);
      if (in_string_) {
        if (escaped_) {
          escaped_ = false;
        } else if (c == '\\') {
          escaped_ = true;
        } else if (c == '"') {
          in_string_ = false;
        }
        continue;
      }
      if (c == '"') {
        in_string_ = true;
      } else if (c == '{' || c == '[') {
        ++depth_;
      } else if (c == '}' || c == ']') {
        --depth_;
        if (depth_ < 0) return FramingError("unbalanced brackets");
      }
      // A scalar element of an array ends at the separator; it has depth 0 throughout.
      const bool is_container = current_.front() == '{' || current_.front() == '[';
      const bool at_separator =
          (mode_ == Mode::kArray && (c == ',' || c == ']')) || (mode_ == Mode::kLines && c == '\n');
      const bool scalar_end = depth_ == 0 && !is_container && at_separator && current_.size() > 1;
      if (scalar_end) {
        current_.pop_back();
        --bytes_fed_;
        --i;  // let the separator be seen again at the top level
      }
      if (depth_ == 0 && (scalar_end || c == '}' || c == ']')) {
        in_record_ = false;
        pending_.append(current_).push_back('\n');
        current_.clear();
        ++pending_records_;
        ++records_framed_;
        expect_element_ = false;
        if (pending_.size() >= batch_bytes_) {
          if (auto st = FlushPending(); !st) return st;
        }
      }
      continue;
    }
    if (IsSpace(c)) continue;
    switch (mode_) {
      case Mode::kStart:
        if (c == '[') {
          mode_ = Mode::kArray;
          expect_element_ = true;
          continue;
        }
        mode_ = Mode::kLines;
        break;
      case Mode::kArray:
        if (c == ']') {
          if (expect_element_ && records_framed_ > 0) return FramingError("',' before ']'");
          mode_ = Mode::kArrayClosed;
          continue;
        }
        if (c == ',') {
          if (expect_element_) return FramingError("a record was expected before ','");
          expect_element_ = true;
          continue;
        }
        if (!expect_element_) return FramingError(fmt::format("expected ',' or ']', got '{}'", c));
        break;
      case Mode::kLines:
        break;
      case Mode::kArrayClosed:
        return FramingError(fmt::format("unexpected '{}' after the closing ']'", c));
    }
    // c starts a record.
    in_record_ = true;
    depth_ = (c == '{' || c == '[') ? 1 : 0;
    in_string_ = c == '"';
    escaped_ = false;
    current_.assign(1, c);
  }
  return {};
}

Status SnapshotStreamParser::FlushPending() {
  if (pending_records_ == 0) return {};
  SnapshotReadOptions options = options_;
  options.first_record_index = options_.first_record_index + batch_.records_seen;
  CSML_ASSIGN_OR_RETURN(auto parsed, ParseSnapshots(pending_, options));
  SnapshotBatch& part = parsed;
  batch_.records_seen += part.records_seen;
  batch_.records_invalid += part.records_invalid;
  batch_.records.insert(batch_.records.end(), std::make_move_iterator(part.records.begin()),
                        std::make_move_iterator(part.records.end()));
  for (auto& problem : part.problems) {
    if (batch_.problems.size() >= options_.max_problems_kept) break;
    problem.line = 0;  // a line of the piece is not a line of the stream
    batch_.problems.push_back(std::move(problem));
  }
  pending_.clear();
  pending_records_ = 0;
  return {};
}

Result<SnapshotBatch> SnapshotStreamParser::Finish() {
  if (in_record_) {
    return MakeError(ErrorCode::kParse,
                     fmt::format("the text ended inside record {} after {} bytes: the body looks "
                                 "truncated",
                                 records_framed_, bytes_fed_));
  }
  if (mode_ == Mode::kArray) {
    return MakeError(ErrorCode::kParse,
                     fmt::format("the JSON array was not closed after {} records and {} bytes: "
                                 "the body looks truncated",
                                 records_framed_, bytes_fed_));
  }
  if (mode_ == Mode::kStart) {
    return MakeError(ErrorCode::kParse, "the text is empty: expected a JSON array of snapshots");
  }
  CSML_TRY(FlushPending());
  return std::move(batch_);
}

}  // namespace csml
