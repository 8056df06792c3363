#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace csml::e2e {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

int RemainingMs(HttpConnection::Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - HttpConnection::Clock::now());
  return static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, left.count()));
}

tl::unexpected<Error> IoError(std::string_view what) {
  return MakeError(ErrorCode::kIo, fmt::format("{}: {}", what, std::strerror(errno)));
}

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return std::nullopt;
}

std::string FormatRequest(const HttpRequestSpec& spec) {
  std::string out = fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n", spec.method, spec.path);
  if (!spec.body.empty() || spec.method == "POST") {
    out += fmt::format("Content-Length: {}\r\n", spec.body.size());
  }
  if (spec.content_type) out += fmt::format("Content-Type: {}\r\n", *spec.content_type);
  for (const auto& [name, value] : spec.headers) out += fmt::format("{}: {}\r\n", name, value);
  out += "\r\n";
  out += spec.body;
  return out;
}

Result<HttpConnection> HttpConnection::Connect(int port, std::chrono::milliseconds timeout) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return IoError("socket");
  HttpConnection conn(fd);
  const int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) return IoError(fmt::format("connect to 127.0.0.1:{}", port));
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
      return MakeError(ErrorCode::kTimeout, fmt::format("connect to 127.0.0.1:{}", port));
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      return MakeError(ErrorCode::kIo,
                       fmt::format("connect to 127.0.0.1:{}: {}", port, std::strerror(err)));
    }
  }
  return conn;
}

HttpConnection::HttpConnection(HttpConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)),
      peer_closed_(other.peer_closed_) {}

HttpConnection& HttpConnection::operator=(HttpConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
    peer_closed_ = other.peer_closed_;
  }
  return *this;
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) close(fd_);
}

Status HttpConnection::WriteAll(std::string_view data, Clock::time_point deadline,
                                bool* answered_early) {
  *answered_early = false;
  while (!data.empty()) {
    pollfd p{fd_, POLLOUT | POLLIN, 0};
    const int ready = poll(&p, 1, RemainingMs(deadline));
    if (ready == 0) return MakeError(ErrorCode::kTimeout, "sending the request");
    if (ready < 0) return IoError("poll");
    if ((p.revents & POLLIN) != 0) {  // the server answered before reading everything
      *answered_early = true;
      return {};
    }
    const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) {  // read whatever the server said
        *answered_early = true;
        return {};
      }
      return IoError("send");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<bool> HttpConnection::ReadMore(Clock::time_point deadline) {
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, RemainingMs(deadline));
    if (ready == 0) return MakeError(ErrorCode::kTimeout, "waiting for the response");
    if (ready < 0) return IoError("poll");
    char chunk[65536];
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) {
      peer_closed_ = true;
      return false;
    }
    if (errno == EAGAIN || errno == EINTR) continue;
    if (errno == ECONNRESET) {
      peer_closed_ = true;
      return false;
    }
    return IoError("recv");
  }
}

Result<HttpResponse> HttpConnection::ReadResponse(bool head, Clock::time_point deadline) {
  while (true) {
    std::size_t header_end = buffer_.find("\r\n\r\n");
    while (header_end == std::string::npos) {
      auto more = ReadMore(deadline);
      if (!more) return tl::unexpected(more.error());
      if (!*more) {
        return MakeError(ErrorCode::kIo,
                         fmt::format("connection closed before a whole response header ({} "
                                     "bytes received)",
                                     buffer_.size()));
      }
      header_end = buffer_.find("\r\n\r\n");
    }
    HttpResponse response;
    const std::string head_text = buffer_.substr(0, header_end);
    buffer_.erase(0, header_end + 4);
    std::size_t line_end = head_text.find("\r\n");
    const std::string status_line = head_text.substr(0, line_end);
    if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) {
      return MakeError(ErrorCode::kParse, fmt::format("bad status line '{}'", status_line));
    }
    response.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      const std::size_t next = head_text.find("\r\n", line_end + 2);
      const std::string line = head_text.substr(
          line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
      line_end = next;
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      response.headers.emplace_back(Lower(line.substr(0, colon)), value);
    }
    if (response.status >= 100 && response.status < 200) continue;  // 100 Continue

    const bool no_body = head || response.status == 204 || response.status == 304;
    const std::optional<std::string> length = response.Header("content-length");
    const std::optional<std::string> encoding = response.Header("transfer-encoding");
    if (no_body) {
      // nothing to read
    } else if (encoding && Lower(*encoding) == "chunked") {
      while (true) {
        std::size_t size_end = buffer_.find("\r\n");
        while (size_end == std::string::npos) {
          auto more = ReadMore(deadline);
          if (!more) return tl::unexpected(more.error());
          if (!*more) return MakeError(ErrorCode::kIo, "connection closed inside a chunk");
          size_end = buffer_.find("\r\n");
        }
        const std::size_t size = std::stoul(buffer_.substr(0, size_end), nullptr, 16);
        while (buffer_.size() < size_end + 2 + size + 2) {
          auto more = ReadMore(deadline);
          if (!more) return tl::unexpected(more.error());
          if (!*more) return MakeError(ErrorCode::kIo, "connection closed inside a chunk");
        }
        response.body.append(buffer_, size_end + 2, size);
        buffer_.erase(0, size_end + 2 + size + 2);
        if (size == 0) break;
      }
    } else if (length) {
      const std::size_t size = std::stoul(*length);
      while (buffer_.size() < size) {
        auto more = ReadMore(deadline);
        if (!more) return tl::unexpected(more.error());
        if (!*more) {
          return MakeError(
              ErrorCode::kIo,
              fmt::format("connection closed after {} of {} body bytes", buffer_.size(), size));
        }
      }
      response.body = buffer_.substr(0, size);
      buffer_.erase(0, size);
    } else {
      while (true) {
        auto more = ReadMore(deadline);
        if (!more) return tl::unexpected(more.error());
        if (!*more) break;
      }
      response.body = std::move(buffer_);
      buffer_.clear();
    }
    return response;
  }
}

Result<HttpResponse> HttpConnection::RoundTrip(std::string_view raw_request, bool head,
                                               std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  bool answered_early = false;
  if (Status sent = WriteAll(raw_request, deadline, &answered_early); !sent) {
    return tl::unexpected(sent.error());
  }
  return ReadResponse(head, deadline);
}

Result<HttpResponse> HttpConnection::Send(const HttpRequestSpec& spec,
                                          std::chrono::milliseconds timeout) {
  return RoundTrip(FormatRequest(spec), spec.method == "HEAD", timeout);
}

Result<HttpResponse> Fetch(int port, const HttpRequestSpec& spec,
                           std::chrono::milliseconds timeout) {
  auto conn = HttpConnection::Connect(port);
  if (!conn) return tl::unexpected(conn.error());
  return conn->Send(spec, timeout);
}

}  // namespace csml::e2e
