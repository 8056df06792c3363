// JSON bodies for the errors h2o answers itself.
//
// h2o refuses some requests before any handler runs (a body above max_request_entity_size, a
// broken chunked encoding) with a text/plain body. Those responses are bound to the host's
// fallback path, so a filter there rewrites them to {"detail": ...}, and counts and logs them.
// After these errors h2o closes the connection while the client may still be sending its
// body: the connection is then closed by lingering (connections.cc), so the client reads its
// answer.
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "server_internal.h"

namespace csml::server::internal {
namespace {

struct JsonErrorFilter {
  h2o_filter_t super;
  HttpServer::Impl* server;
};

struct JsonBodyOstream {
  h2o_ostream_t super;
  h2o_iovec_t body;
  bool sent;
};

void SendJsonBody(h2o_ostream_t* self, h2o_req_t* req, h2o_iovec_t* /*bufs*/,
                  std::size_t /*bufcnt*/, h2o_send_state_t state) {
  auto* os = reinterpret_cast<JsonBodyOstream*>(self);
  const bool head = View(req->input.method) == "HEAD";
  if (os->sent || head) {
    h2o_ostream_send_next(self, req, nullptr, 0, state);
    return;
  }
  os->sent = true;
  h2o_ostream_send_next(self, req, &os->body, 1, state);
}

void SetupJsonErrorOstream(h2o_filter_t* self, h2o_req_t* req, h2o_ostream_t** slot) {
  const HttpServer::Impl& server = *reinterpret_cast<JsonErrorFilter*>(self)->server;
  Response logged;
  logged.status = req->res.status;
  if (req->res.status >= 400) {
    std::string body = "{\"detail\":";
    if (req->res.status == 413) {
      AppendJsonString(&body, fmt::format("Request body exceeds the limit of {} bytes",
                                          server.options.max_body_bytes));
    } else {
      AppendJsonString(&body, req->res.reason != nullptr ? req->res.reason : "Bad Request");
    }
    body.push_back('}');
    // h2o closes the connection after these, possibly while the client is still sending.
    if (Conn* conn = ConnOf(req); conn != nullptr && !req->http1_is_persistent) {
      PrepareLinger(*conn);
    }
    const ssize_t type_at = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (type_at >= 0) {
      req->res.headers.entries[type_at].value = h2o_iovec_init(H2O_STRLIT("application/json"));
    } else {
      h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr,
                     H2O_STRLIT("application/json"));
    }
    req->res.content_length = body.size();
    auto* os =
        reinterpret_cast<JsonBodyOstream*>(h2o_add_ostream(req, sizeof(JsonBodyOstream), slot));
    os->super.do_send = SendJsonBody;
    os->body = PoolCopy(req, body);
    os->sent = false;
    slot = &os->super.next;
    logged.body = std::move(body);
  }
  LoopState& loop = LoopOf(req->conn->ctx);
  std::array<char, 64> id_buffer{};
  const std::string_view request_id = RequestIdFor(req, loop, id_buffer);
  const h2o_iovec_t id = PoolCopy(req, request_id);
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, nullptr,
                        id.base, id.len);
  std::chrono::nanoseconds latency{0};
  if (req->timestamps.request_begin_at.tv_sec != 0) {
    timeval now{};
    gettimeofday(&now, nullptr);
    const std::int64_t us = (now.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1'000'000 +
                            (now.tv_usec - req->timestamps.request_begin_at.tv_usec);
    latency = std::chrono::microseconds(std::max<std::int64_t>(0, us));
  }
  Record(loop, req, Router::kNoRoute, logged, latency, request_id);
  h2o_setup_next_ostream(req, slot);
}

}  // namespace

void InstallJsonErrorFilter(h2o_hostconf_t* hostconf, HttpServer::Impl* server) {
  auto* filter = reinterpret_cast<JsonErrorFilter*>(
      h2o_create_filter(&hostconf->fallback_path, sizeof(JsonErrorFilter)));
  filter->super.on_setup_ostream = SetupJsonErrorOstream;
  filter->server = server;
}

}  // namespace csml::server::internal
