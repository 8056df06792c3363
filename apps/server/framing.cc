// HTTP/1.1 framing checks over raw request heads (see framing.h).
#include "framing.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>

namespace csml::server {
namespace {

constexpr std::string_view kObsFold =
    "Header line folding (obs-fold) is not accepted: send each header on one line";

bool IsTchar(unsigned char c) {
  if (std::isalnum(c) != 0) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// A header value byte: HT, visible ASCII, space, obs-text.
bool IsValueByte(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

HeadCheck Bad(HeadCheck check, int status, std::string detail) {
  check.verdict = HeadCheck::kBad;
  check.rejection = Rejection{status, std::move(detail)};
  return check;
}

// One line of `bytes` from `at`: its content without CR LF, and where the next one starts.
// nullopt while its end has not arrived.
struct Line {
  std::string_view text;
  std::size_t next;
};
std::optional<Line> NextLine(std::string_view bytes, std::size_t at) {
  const std::size_t lf = bytes.find('\n', at);
  if (lf == std::string_view::npos) return std::nullopt;
  std::string_view text = bytes.substr(at, lf - at);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return Line{text, lf + 1};
}

// Checks a request line as far as it has arrived. Returns the verdict so far: kComplete
// means the line is whole and sound.
HeadCheck CheckRequestLine(std::string_view line, bool whole, HeadCheck check) {
  std::size_t i = 0;
  while (i < line.size() && IsTchar(static_cast<unsigned char>(line[i]))) ++i;
  check.method = std::string(line.substr(0, i));
  if (i == line.size()) {
    return whole ? Bad(std::move(check), 400, "Invalid HTTP request line") : check;
  }
  if (i == 0 || line[i] != ' ') return Bad(std::move(check), 400, "Invalid HTTP request line");
  const std::size_t target_at = ++i;
  while (i < line.size() && static_cast<unsigned char>(line[i]) > 0x20 &&
         static_cast<unsigned char>(line[i]) != 0x7f) {
    ++i;
  }
  check.target = std::string(line.substr(target_at, i - target_at));
  if (i == line.size()) {
    return whole ? Bad(std::move(check), 400, "Invalid HTTP request line") : check;
  }
  if (i == target_at || line[i] != ' ') {
    return Bad(std::move(check), 400, "Invalid HTTP request line");
  }
  const std::string_view version = line.substr(i + 1);
  constexpr std::string_view kPrefix = "HTTP/1.";
  const std::size_t compared = std::min(version.size(), kPrefix.size());
  if (version.substr(0, compared) != kPrefix.substr(0, compared)) {
    if (version.starts_with("HTTP/2")) {
      return Bad(std::move(check), 400, "HTTP/2 is not served on this port: use HTTP/1.1");
    }
    return Bad(std::move(check), 400, "Invalid HTTP version");
  }
  if (!whole) {
    return version.size() <= kPrefix.size() + 1
               ? check
               : Bad(std::move(check), 400, "Invalid HTTP request line");
  }
  if (version != "HTTP/1.0" && version != "HTTP/1.1") {
    return Bad(std::move(check), 400, "HTTP version not supported: use HTTP/1.1");
  }
  check.verdict = HeadCheck::kComplete;
  return check;
}

}  // namespace

HeadCheck CheckRequestHead(std::string_view bytes, std::size_t max_bytes, std::size_t max_headers,
                           HeadCheck previous) {
  HeadCheck check = std::move(previous);
  if (check.verdict != HeadCheck::kIncomplete) return check;
  const auto too_large = [&check]() {
    return Bad(std::move(check), 431, "Request header fields too large");
  };
  if (!check.request_line_done) {
    // As RFC 9112 2.2 allows, empty lines before the request line are skipped.
    while (check.line_at < bytes.size() &&
           (bytes[check.line_at] == '\r' || bytes[check.line_at] == '\n')) {
      ++check.line_at;
    }
  }
  while (true) {
    const std::size_t at = check.line_at;
    const std::size_t lf = bytes.find('\n', std::max(at, check.searched));
    const bool whole = lf != std::string_view::npos;
    check.searched = whole ? lf : bytes.size();
    std::string_view text = bytes.substr(at, whole ? lf - at : std::string_view::npos);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (whole && lf + 1 > max_bytes) return too_large();
    // A line still arriving is checked only while it is short, so a long one sent in many
    // small reads is not scanned again at each.
    constexpr std::size_t kCheckPartialUpTo = 256;
    if (!whole && text.size() > kCheckPartialUpTo) {
      return bytes.size() > max_bytes ? too_large() : check;
    }
    if (text.find('\0') != std::string_view::npos) {
      return Bad(std::move(check), 400, "Invalid byte (NUL) in the request head");
    }
    if (!check.request_line_done) {
      check = CheckRequestLine(text, whole, std::move(check));
      if (check.verdict == HeadCheck::kBad) return check;
      if (!whole) return bytes.size() > max_bytes ? too_large() : check;
      check.verdict = HeadCheck::kIncomplete;
      check.request_line_done = true;
    } else if (whole && text.empty()) {
      check.verdict = HeadCheck::kComplete;
      check.head_bytes = lf + 1;
      return check;
    } else {
      if (text.starts_with(' ') || text.starts_with('\t')) {
        return Bad(std::move(check), 400, std::string(kObsFold));
      }
      std::size_t i = 0;
      while (i < text.size() && IsTchar(static_cast<unsigned char>(text[i]))) ++i;
      const bool named = i > 0 && i < text.size() && text[i] == ':';
      if ((whole || i < text.size()) && !named) {
        return Bad(std::move(check), 400,
                   "Invalid HTTP header line: expected a field name and a colon");
      }
      const std::string_view value = named ? text.substr(i + 1) : std::string_view();
      if (!std::all_of(value.begin(), value.end(),
                       [](char c) { return IsValueByte(static_cast<unsigned char>(c)); })) {
        return Bad(std::move(check), 400, "Invalid byte in an HTTP header value");
      }
      if (!whole) return bytes.size() > max_bytes ? too_large() : check;
      if (++check.headers > max_headers) {
        return Bad(std::move(check), 431, "Too many request headers");
      }
    }
    check.line_at = lf + 1;
    check.searched = lf + 1;
  }
}

std::optional<Rejection> CheckFraming(std::string_view head) {
  std::optional<Line> line = NextLine(head, 0);
  while (line && line->text.empty()) line = NextLine(head, line->next);  // leading CR LFs
  if (!line) return std::nullopt;
  std::optional<std::uint64_t> content_length;
  int transfer_encodings = 0;
  bool chunked = true;
  for (line = NextLine(head, line->next); line && !line->text.empty();
       line = NextLine(head, line->next)) {
    const std::string_view text = line->text;
    if (text.starts_with(' ') || text.starts_with('\t')) {
      return Rejection{400, std::string(kObsFold)};
    }
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) continue;  // the parser refuses these itself
    const std::string_view name = text.substr(0, colon);
    const std::string_view value = TrimOws(text.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-length")) {
      // A list of equal values ("5, 5") is one length (RFC 9112 6.3); anything else is not.
      std::string_view rest = value;
      while (true) {
        const std::size_t comma = rest.find(',');
        const std::string_view item = TrimOws(rest.substr(0, comma));
        std::uint64_t n = 0;
        const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
        if (item.empty() || ec != std::errc() || end != item.data() + item.size()) {
          return Rejection{400, "Invalid Content-Length header"};
        }
        if (content_length && *content_length != n) {
          return Rejection{400, "Conflicting Content-Length headers"};
        }
        content_length = n;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      ++transfer_encodings;
      chunked = chunked && EqualsIgnoreCase(value, "chunked");
    }
  }
  if (transfer_encodings == 0) return std::nullopt;
  if (content_length) {
    return Rejection{400, "Content-Length and Transfer-Encoding together are not accepted"};
  }
  if (transfer_encodings > 1 || !chunked) {
    return Rejection{400, "Unsupported Transfer-Encoding: only a single chunked is accepted"};
  }
  return std::nullopt;
}

std::optional<AbsoluteTarget> SplitAbsoluteTarget(std::string_view target) {
  std::size_t scheme = 0;
  if (target.size() > 7 && EqualsIgnoreCase(target.substr(0, 7), "http://")) {
    scheme = 7;
  } else if (target.size() > 8 && EqualsIgnoreCase(target.substr(0, 8), "https://")) {
    scheme = 8;
  } else {
    return std::nullopt;
  }
  const std::string_view rest = target.substr(scheme);
  const std::size_t end = rest.find_first_of("/?#");
  AbsoluteTarget split;
  split.authority = rest.substr(0, end);
  if (split.authority.empty()) return std::nullopt;
  const std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  split.origin_form = tail.starts_with('/') ? std::string(tail) : "/" + std::string(tail);
  return split;
}

bool IsOwnAuthority(std::string_view authority, std::string_view host_header,
                    std::string_view listen_host, int listen_port) {
  if (!host_header.empty() && EqualsIgnoreCase(authority, host_header)) return true;
  std::string_view host = authority;
  int port = 80;
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    const std::string_view digits = authority.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return false;
    host = authority.substr(0, colon);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return port == listen_port &&
         (EqualsIgnoreCase(host, listen_host) || EqualsIgnoreCase(host, "localhost") ||
          (listen_host == "0.0.0.0" && host == "127.0.0.1"));
}

}  // namespace csml::server
