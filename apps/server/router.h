// What a handler of the HTTP server sees and returns, and the route table (router.cc).
//
// Handlers run on an event-loop thread and must not block; they see a Request view and
// return a Response, and never see h2o. A handler that cannot answer at once (an admin
// reload, a tenant's model being loaded) defers: Request::Defer() gives a Responder that any
// thread may complete later; completing it wakes the loop, which sends the answer at once.
//
// Answers the router gives by itself, all JSON (the server adds 413 and 500, see
// http_server.h):
//   404 {"detail":"Not Found"}              no route has the path
//   405 {"detail":"Method Not Allowed"}     the path exists, the method does not (with Allow)
//   307 redirect                            the path differs from a route's only by a trailing
//                                           slash (FastAPI's redirect_slashes)
//   415 {"detail":"Content-Encoding ..."}   a Content-Encoding other than identity
// HEAD is served by a GET route without the body.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace csml::server {

struct Response;
class Responder;

// One request as a handler sees it. The views point into the server's buffers and are valid
// only during the handler call.
struct Request {
  using HeaderLookup = std::optional<std::string_view> (*)(const void* source,
                                                           std::string_view lower_case_name);
  using DeferFn = Responder (*)(const void* source);

  std::string_view method;     // "GET", "POST", ...
  std::string_view path;       // percent-decoded, dot-segments resolved, no query
  std::string_view query;      // after '?', empty when none
  std::string_view authority;  // the Host header (or the server's address)
  std::string_view body;       // empty when the request has none

  // The X-Request-Id the answer carries, and when the server called the handler.
  std::string_view request_id;
  std::chrono::steady_clock::time_point received;

  // The first header with this name (lower case), or nullopt.
  std::optional<std::string_view> Header(std::string_view lower_case_name) const {
    return header_lookup == nullptr ? std::nullopt : header_lookup(header_source, lower_case_name);
  }

  // Takes over answering this request: the handler then returns DeferredResponse() and the
  // request is answered when the Responder is completed. A server that cannot defer (or a
  // second call) gives an empty Responder.
  Responder Defer() const;

  const void* header_source = nullptr;
  HeaderLookup header_lookup = nullptr;
  const void* defer_source = nullptr;
  DeferFn defer = nullptr;
};

struct Response {
  int status = 200;
  std::string_view content_type = "application/json";  // static storage only (a literal)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, names lower case
  // For the access log: the model version that answered, a view into an object that
  // `log_keep_alive` keeps alive until the line is written.
  std::string_view log_model_version;
  std::shared_ptr<const void> log_keep_alive;
  bool deferred = false;  // see Request::Defer
};

// {"detail":"<detail>"} with the given status, FastAPI's shape for errors.
Response DetailResponse(int status, std::string_view detail);

// What a handler returns after Request::Defer().
Response DeferredResponse();

// Completes a deferred request from any thread, once. Destroying a Responder that was not
// completed answers 500, so a request is never left without an answer. Move-only.
class Responder {
 public:
  struct State;

  Responder() = default;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  explicit operator bool() const { return state_ != nullptr; }
  void Send(Response response);

 private:
  std::shared_ptr<State> state_;
};

// The route table: exact paths, one handler per method.
// Not thread-safe to modify; build it before Start(), after which it is only read.
class Router {
 public:
  using Handler = std::function<Response(const Request&)>;
  static constexpr int kNoRoute = -1;

  // A later Add for the same method and path replaces the handler.
  void Add(std::string method, std::string path, Handler handler);

  // The paths in the order they were first added: a route's id is its index here.
  std::vector<std::string> Paths() const;
  // The methods one path answers (HEAD included where GET is), or empty for an unknown path.
  std::vector<std::string> Methods(std::string_view path) const;

  struct Outcome {
    Response response;
    int route = kNoRoute;  // the matched path's id (also for 405 and 415), else kNoRoute
  };
  // Routes one request, answering 404/405/307/415 itself (see the file comment).
  Outcome Handle(const Request& request) const;

 private:
  struct Route {
    std::string path;
    std::vector<std::pair<std::string, Handler>> methods;
  };
  const Route* Find(std::string_view path) const;

  std::vector<Route> routes_;
};

}  // namespace csml::server
