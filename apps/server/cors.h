// CORS for browser clients on other origins (--cors-origin), off by default.
//
// With origins configured, the routes added through AddWithCors() answer preflights
// (OPTIONS with Origin and Access-Control-Request-Method) and add
// Access-Control-Allow-Origin (the origin, or * when any is allowed), Vary: Origin and
// Access-Control-Expose-Headers: X-Request-Id to their answers, for an allowed Origin only.
// A preflight from an origin not allowed, or asking for a method or header the route does
// not take, is a 400 {"detail":"Disallowed CORS ..."} as Starlette's CORSMiddleware answers.
// Routes added with Router::Add() directly (the admin endpoints) never get CORS headers, and
// OPTIONS there stays a 405. No credentials mode: a bearer token is an explicit header.
// Thread-safety: immutable after Create(); used from every event-loop thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "csml/core/error.h"
#include "router.h"

namespace csml::server {

class CorsPolicy {
 public:
  // Request headers a preflight may ask for (beyond the CORS-safelisted ones).
  static constexpr std::string_view kAllowedHeaders = "Authorization, Content-Type, X-Request-Id";
  static constexpr int kMaxAgeSeconds = 600;

  // Each origin is "*" or scheme://host[:port] with scheme http or https (no path, no
  // trailing slash; compared case-insensitively). Empty: CORS off.
  static Result<CorsPolicy> Create(const std::vector<std::string>& origins);

  CorsPolicy() = default;
  bool enabled() const { return any_ || !origins_.empty(); }
  // The Access-Control-Allow-Origin value for this request, or "" when it gets none.
  std::string AllowOrigin(const Request& request) const;
  // Adds the CORS headers of an actual (non-preflight) answer.
  void Decorate(const Request& request, Response* response) const;
  // The answer to an OPTIONS request on a route answering `methods` (e.g. "GET, HEAD").
  Response Preflight(const Request& request, const std::vector<std::string>& methods) const;

 private:
  bool any_ = false;
  std::vector<std::string> origins_;  // lower case
};

// router.Add(method, path, handler), and with `cors` enabled: the handler's answers decorated
// and OPTIONS on the path answering preflights for `method` (and HEAD with GET). One method
// per path: a second call for the same path replaces the preflight. `cors` must outlive the
// router.
void AddWithCors(Router& router, const CorsPolicy& cors, const std::string& method,
                 const std::string& path, Router::Handler handler);

}  // namespace csml::server
