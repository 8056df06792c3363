#include "cors.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "header_text.h"

namespace csml::server {
namespace {

// scheme://host[:port], scheme http or https, host of letters, digits, '-', '.', or a
// bracketed IPv6 address; port 1 to 65535.
bool IsOrigin(std::string_view origin) {
  std::string_view rest;
  if (origin.substr(0, 7) == "http://") {
    rest = origin.substr(7);
  } else if (origin.substr(0, 8) == "https://") {
    rest = origin.substr(8);
  } else {
    return false;
  }
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos || close < 2) return false;
    host = rest.substr(0, close + 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
      if (port.empty()) return false;
    }
    for (char c : host.substr(1, host.size() - 2)) {
      if (std::isxdigit(static_cast<unsigned char>(c)) == 0 && c != ':' && c != '.') return false;
    }
  } else {
    const std::size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    for (char c : host) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '.') return false;
    }
  }
  if (port.empty()) return true;
  if (port.size() > 5) return false;
  int value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return value >= 1 && value <= 65535;
}

// True when every comma-separated name of `requested` is allowed (case-insensitive):
// kAllowedHeaders or a CORS-safelisted request header.
bool HeadersAllowed(std::string_view requested) {
  static constexpr std::string_view kAllowed[] = {"authorization",   "content-type",
                                                  "x-request-id",    "accept",
                                                  "accept-language", "content-language"};
  while (!requested.empty()) {
    const std::size_t comma = requested.find(',');
    const std::string name = LowerAscii(TrimOws(requested.substr(0, comma)));
    requested = comma == std::string_view::npos ? std::string_view() : requested.substr(comma + 1);
    if (name.empty()) continue;
    if (std::find(std::begin(kAllowed), std::end(kAllowed), name) == std::end(kAllowed)) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<CorsPolicy> CorsPolicy::Create(const std::vector<std::string>& origins) {
  CorsPolicy policy;
  for (const std::string& origin : origins) {
    if (origin == "*") {
      policy.any_ = true;
      continue;
    }
    if (!IsOrigin(origin)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("cors origin: expected * or scheme://host[:port] with scheme "
                                   "http or https and no path, got '{}'",
                                   origin));
    }
    policy.origins_.push_back(LowerAscii(origin));
  }
  return policy;
}

std::string CorsPolicy::AllowOrigin(const Request& request) const {
  const std::optional<std::string_view> origin = request.Header("origin");
  if (!origin || origin->empty()) return "";
  if (any_) return "*";
  const std::string lower = LowerAscii(*origin);
  if (std::find(origins_.begin(), origins_.end(), lower) == origins_.end()) return "";
  return std::string(*origin);
}

void CorsPolicy::Decorate(const Request& request, Response* response) const {
  if (!enabled()) return;
  std::string allow = AllowOrigin(request);
  // The answer depends on Origin whenever a list of origins is configured.
  if (!any_) response->headers.emplace_back("vary", "Origin");
  if (allow.empty()) return;
  response->headers.emplace_back("access-control-allow-origin", std::move(allow));
  response->headers.emplace_back("access-control-expose-headers", "X-Request-Id");
}

Response CorsPolicy::Preflight(const Request& request,
                               const std::vector<std::string>& methods) const {
  std::string allow = AllowOrigin(request);
  const std::string_view method = request.Header("access-control-request-method").value_or("");
  std::string disallowed;
  if (allow.empty()) disallowed = "origin";
  if (std::find(methods.begin(), methods.end(), std::string(TrimOws(method))) == methods.end()) {
    disallowed += disallowed.empty() ? "method" : ", method";
  }
  if (!HeadersAllowed(request.Header("access-control-request-headers").value_or(""))) {
    disallowed += disallowed.empty() ? "headers" : ", headers";
  }
  Response response;
  if (!disallowed.empty()) {
    response = DetailResponse(400, fmt::format("Disallowed CORS {}", disallowed));
  } else {
    response.status = 204;
    response.content_type = {};
    std::string list;
    for (const std::string& m : methods) {
      if (!list.empty()) list += ", ";
      list += m;
    }
    response.headers.emplace_back("access-control-allow-origin", std::move(allow));
    response.headers.emplace_back("access-control-allow-methods", std::move(list));
    response.headers.emplace_back("access-control-allow-headers", std::string(kAllowedHeaders));
    response.headers.emplace_back("access-control-max-age", fmt::format("{}", kMaxAgeSeconds));
  }
  if (!any_) response.headers.emplace_back("vary", "Origin");
  return response;
}

void AddWithCors(Router& router, const CorsPolicy& cors, const std::string& method,
                 const std::string& path, Router::Handler handler) {
  if (!cors.enabled()) {
    router.Add(method, path, std::move(handler));
    return;
  }
  router.Add(method, path, [&cors, handler = std::move(handler)](const Request& request) {
    Response response = handler(request);
    if (!response.deferred) cors.Decorate(request, &response);
    return response;
  });
  std::vector<std::string> methods = {method};
  if (method == "GET") methods.emplace_back("HEAD");
  router.Add("OPTIONS", path, [&cors, methods = std::move(methods)](const Request& request) {
    return cors.Preflight(request, methods);
  });
}

}  // namespace csml::server
