// The route table and the answers the router gives by itself (see router.h).
#include "router.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "header_text.h"

namespace csml::server {

Responder Request::Defer() const { return defer == nullptr ? Responder() : defer(defer_source); }

Response DeferredResponse() {
  Response response;
  response.deferred = true;
  return response;
}

Response DetailResponse(int status, std::string_view detail) {
  Response response;
  response.status = status;
  response.body.append("{\"detail\":");
  AppendJsonString(&response.body, detail);
  response.body.push_back('}');
  return response;
}

void Router::Add(std::string method, std::string path, Handler handler) {
  auto it =
      std::find_if(routes_.begin(), routes_.end(), [&](const Route& r) { return r.path == path; });
  if (it == routes_.end()) {
    routes_.push_back(Route{std::move(path), {}});
    it = routes_.end() - 1;
  }
  for (auto& [m, h] : it->methods) {
    if (m == method) {
      h = std::move(handler);
      return;
    }
  }
  it->methods.emplace_back(std::move(method), std::move(handler));
}

std::vector<std::string> Router::Paths() const {
  std::vector<std::string> paths;
  paths.reserve(routes_.size());
  for (const Route& route : routes_) paths.push_back(route.path);
  return paths;
}

std::vector<std::string> Router::Methods(std::string_view path) const {
  std::vector<std::string> methods;
  if (const Route* route = Find(path)) {
    for (const auto& entry : route->methods) {
      methods.push_back(entry.first);
      if (entry.first == "GET") methods.emplace_back("HEAD");
    }
  }
  return methods;
}

const Router::Route* Router::Find(std::string_view path) const {
  for (const Route& route : routes_) {
    if (route.path == path) return &route;
  }
  return nullptr;
}

Router::Outcome Router::Handle(const Request& request) const {
  const Route* route = Find(request.path);
  if (route == nullptr) {
    // Starlette's redirect_slashes: the same path with the trailing slash added or removed.
    if (request.path != "/" && !request.path.empty()) {
      std::string other(request.path);
      if (other.back() == '/') {
        while (!other.empty() && other.back() == '/') other.pop_back();
      } else {
        other.push_back('/');
      }
      if (!other.empty() && Find(other) != nullptr) {
        Response redirect;
        redirect.status = 307;
        redirect.content_type = {};
        std::string location = fmt::format("http://{}{}", request.authority, other);
        if (!request.query.empty()) location += fmt::format("?{}", request.query);
        redirect.headers.emplace_back("location", std::move(location));
        return {std::move(redirect), kNoRoute};
      }
    }
    return {DetailResponse(404, "Not Found"), kNoRoute};
  }
  const int route_id = static_cast<int>(route - routes_.data());

  const Handler* handler = nullptr;
  const Handler* get_handler = nullptr;
  for (const auto& [method, h] : route->methods) {
    if (method == request.method) handler = &h;
    if (method == "GET") get_handler = &h;
  }
  if (handler == nullptr && request.method == "HEAD") handler = get_handler;
  if (handler == nullptr) {
    std::string allow;
    for (const auto& entry : route->methods) {
      if (!allow.empty()) allow += ", ";
      allow += entry.first;
      if (entry.first == "GET") allow += ", HEAD";
    }
    Response response = DetailResponse(405, "Method Not Allowed");
    response.headers.emplace_back("allow", std::move(allow));
    return {std::move(response), route_id};
  }

  if (const auto encoding = request.Header("content-encoding")) {
    const std::string coding = LowerAscii(TrimOws(*encoding));
    if (!coding.empty() && coding != "identity") {
      return {
          DetailResponse(415, fmt::format("Content-Encoding '{}' is not supported; send the body "
                                          "uncompressed",
                                          TrimOws(*encoding))),
          route_id};
    }
  }
  return {(*handler)(request), route_id};
}

}  // namespace csml::server
