// The HTTP/1.1 framing rules the server holds requests to on top of h2o's parser (RFC 9112):
// pure checks over a request's raw head (the request line and header lines, as received), so
// they can be tested without a socket. See "HTTP framing" in docs/OPERATIONS.md.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace csml::server {

// A request the server refuses: the status and the `detail` of its JSON answer. Every such
// answer closes the connection.
struct Rejection {
  int status = 400;
  std::string detail;
};

// Where a head that is still arriving stands; also the state a later call resumes from, so
// each byte is looked at about once however the head is split into reads.
struct HeadCheck {
  enum Verdict { kIncomplete, kComplete, kBad } verdict = kIncomplete;
  std::size_t head_bytes = 0;  // kComplete: the head's length, its blank line included
  Rejection rejection;         // kBad
  std::string method;          // as far as it was read (for the access log)
  std::string target;
  // Resume state: the first line not yet checked, how far it was searched for its end, and
  // the header lines counted.
  std::size_t line_at = 0;
  std::size_t searched = 0;
  std::size_t headers = 0;
  bool request_line_done = false;
};

// Checks the bytes a connection has sent before its first request reaches h2o: the request
// line (a method token, a target of visible bytes, HTTP/1.0 or 1.1), header lines (a token
// name, a colon, no NUL or control bytes, no obs-fold), at most `max_headers` lines and
// `max_bytes` bytes in all. A head is refused as soon as a byte proves it wrong, so a TLS
// ClientHello or an HTTP/2 preface is answered without waiting for a blank line (a line
// still arriving is looked at while it is short). `bytes` is everything received so far;
// `previous` is the result of the last call on a prefix of it (or a fresh HeadCheck).
HeadCheck CheckRequestHead(std::string_view bytes, std::size_t max_bytes, std::size_t max_headers,
                           HeadCheck previous = {});

// The message-framing rules h2o does not apply (it takes the first Content-Length and lets
// Transfer-Encoding win over Content-Length): refuses Content-Length values that disagree or
// are not a plain number, Content-Length with Transfer-Encoding, more than one
// Transfer-Encoding or one other than `chunked`, and any obs-fold (a header line starting
// with a space or tab). `head` starts at the request line; whatever follows its blank line
// is ignored. nullopt: the framing is sound.
std::optional<Rejection> CheckFraming(std::string_view head);

// An absolute-form target (`http://host:port/path?query`), split. nullopt for every other form.
struct AbsoluteTarget {
  std::string_view authority;
  std::string origin_form;  // the path and query, "/" when the target has none
};
std::optional<AbsoluteTarget> SplitAbsoluteTarget(std::string_view target);

// True when `authority` names this server: equal (ignoring case) to the request's Host
// header, or to `listen_host` (or localhost) with `listen_port`.
bool IsOwnAuthority(std::string_view authority, std::string_view host_header,
                    std::string_view listen_host, int listen_port);

}  // namespace csml::server
