// Private to the HTTP server (apps/server/): the state the server's files share, and the one
// place h2o.h is included. Nothing outside http_server.cc, connections.cc, listener.cc,
// json_error_filter.cc and drain.cc includes this header.
//
// Who does what:
//   http_server.cc        Start(), the loop's main cycle, requests, deferred answers
//   connections.cc        connection phases and their timeouts (the sweep), the cap,
//                         lingering close after a 413
//   listener.cc           resolving and binding the SO_REUSEPORT sockets, accepting, the
//                         open-file limit
//   json_error_filter.cc  JSON bodies for the errors h2o answers by itself
//   parse_guard.cc        a connection's first head checked before h2o parses it, the
//                         parser's rejections answered as JSON; the per-request framing check
//   drain.cc              a loop's graceful stop
//   server_options.cc     ServerOptions::Validate (public: server_options.h)
#pragma once

// h2o must be told which event loop it was built with before its header is read: without
// H2O_USE_EPOLL it assumes libuv.
#define H2O_USE_EPOLL 1

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <h2o.h>

#include "csml/core/error.h"
#include "framing.h"
#include "http_metrics.h"
#include "http_server.h"

namespace csml::server {

namespace internal {

// How long a loop waits for events before it looks at the stop flag (and its mailbox, which a
// Responder::Send also wakes at once through the mailbox's eventfd; the poll is its fallback).
inline constexpr std::int32_t kStopPollMs = 100;
// How often a loop checks its connections against the timeouts.
inline constexpr std::uint64_t kSweepIntervalMs = 100;
// Connections accepted per readiness event, so one busy listener cannot starve the loop.
inline constexpr int kAcceptBatch = 16;
// While stopping: how long a connection that never sent a byte may still send its request.
inline constexpr std::uint64_t kShutdownFreshGraceMs = 1'000;
// After the grace period: how long closed connections get to be torn down by h2o.
inline constexpr auto kFinalCloseTime = std::chrono::milliseconds(500);
// Lingering close after a 413 (as nginx's lingering_close): what the client still sends is
// read and dropped for at most this long and this many bytes, so it can finish writing and
// read its answer instead of meeting a connection reset.
inline constexpr std::uint64_t kLingerMaxMs = 5'000;
inline constexpr std::size_t kLingerMaxBytes = std::size_t{32} << 20;

// Where a connection is in its request cycle, as far as the timeouts are concerned.
enum Phase : std::uint8_t {
  kIdle,        // no byte of a request yet (a new or a kept-alive connection)
  kHeaders,     // request bytes arrived, the headers are not complete
  kBody,        // headers complete, the body is arriving
  kResponding,  // a handler was called; the response is being produced or written
  kNumPhases,
};

struct LoopState;

// Our record of one client connection, linked into its loop's list for its phase (lists are
// ordered by phase start, so the head of each is its oldest member).
struct Conn {
  h2o_linklist_t link;  // first member: a Conn* and its link's address are interchangeable
  h2o_socket_t* sock;
  LoopState* loop;
  Phase phase;
  bool fresh;     // no request received yet
  bool deferred;  // a handler deferred the response (no timeout applies)
  bool closing;   // shutdown(2) issued; h2o sees the end of the stream and closes it
  std::uint64_t phase_start_ms;
  std::uint64_t progress_ms;  // kResponding: when bytes_written last moved
  std::size_t bytes_written_mark;
  // A duplicate of the socket's descriptor, taken when h2o answers 413 and will close the
  // connection: it keeps the socket open for the lingering close. -1 when none.
  int linger_fd;
  // Before h2o has the socket (parse_guard.cc): the head checked so far, and the answer
  // being written when it is refused.
  HeadCheck head;
  std::string reply;
};

inline Conn* ConnFromLink(h2o_linklist_t* link) { return reinterpret_cast<Conn*>(link); }

// A socket after a 413, read and dropped until the client is done, a limit is reached or the
// deadline passes (see kLingerMaxMs). Linked into its loop's `lingering` list, oldest first.
struct Linger {
  h2o_linklist_t link;  // first member, as in Conn
  h2o_socket_t* sock;
  LoopState* loop;
  std::uint64_t deadline_ms;
  std::size_t bytes_dropped;
};

inline Linger* LingerFromLink(h2o_linklist_t* link) { return reinterpret_cast<Linger*>(link); }

// Deferred answers completed on other threads, delivered by the loop that owns the requests.
// Send queues the answer and, when the mailbox was empty, writes to `wake_fd` (an eventfd the
// loop watches), so the loop delivers at once rather than at its next poll (kStopPollMs).
struct Mailbox {
  std::mutex mu;
  std::vector<std::pair<std::shared_ptr<Responder::State>, Response>> mail;  // guarded by mu
  bool closed = false;                                                       // guarded by mu
  // The loop's eventfd, -1 when there is none (it could not be made: the poll delivers).
  // Set before the loop serves and read by senders under mu; owned by `wake` (LoopState).
  int wake_fd = -1;
  std::atomic<bool> has_mail{false};
};

// h2o gives handlers the h2o_context_t; our loop state sits next to it. Standard layout with
// the context first, so a context pointer converts back to its LoopContext.
struct LoopContext {
  h2o_context_t ctx;
  LoopState* state;
};

}  // namespace internal

struct Responder::State {
  std::shared_ptr<internal::Mailbox> mailbox;
  std::atomic<bool> sent{false};
  // Loop thread only:
  bool active = false;  // the handler returned DeferredResponse(); the request waits
  h2o_req_t* req = nullptr;
  internal::Conn* conn = nullptr;
  int route = Router::kNoRoute;
  std::chrono::steady_clock::time_point started;
  std::string request_id;
};

namespace internal {

struct LoopState {
  HttpServer::Impl* server = nullptr;
  int index = 0;
  h2o_evloop_t* loop = nullptr;
  LoopContext context{};
  h2o_accept_ctx_t accept_ctx{};
  h2o_socket_t* listener = nullptr;
  bool accept_paused = false;
  bool stopping = false;
  std::uint64_t stop_started_ms = 0;
  std::array<h2o_linklist_t, kNumPhases> phases{};
  h2o_linklist_t lingering{};  // Linger records, oldest first
  std::size_t open = 0;
  std::size_t closing = 0;
  std::size_t lingers = 0;  // sockets in `lingering`; they count against the cap
  std::size_t cap = 0;      // this loop's share of max_connections
  std::uint64_t next_sweep_ms = 0;
  std::shared_ptr<Mailbox> mailbox = std::make_shared<Mailbox>();
  h2o_socket_t* wake = nullptr;  // the mailbox's eventfd in the loop (see OpenMailboxWake)
  std::size_t deferred_pending = 0;
  std::uint64_t request_seq = 0;
  std::string request_id_prefix;  // "<8 hex digits>-<loop>-"
};

inline LoopState& LoopOf(h2o_context_t* ctx) { return *reinterpret_cast<LoopContext*>(ctx)->state; }

inline std::string_view View(h2o_iovec_t v) {
  return v.base == nullptr ? std::string_view() : std::string_view(v.base, v.len);
}

inline h2o_iovec_t PoolCopy(h2o_req_t* req, std::string_view s) {
  return h2o_strdup(&req->pool, s.data(), s.size());
}

// ---- connections.cc ---------------------------------------------------------------------------

// Starts tracking a connection h2o has just been given (phase kIdle, fresh).
void Track(LoopState& loop, h2o_socket_t* sock);
void SetPhase(Conn& conn, Phase phase, std::uint64_t now_ms);
// Ends a connection from our side with shutdown(2); h2o then closes it through its own path.
void CloseConnection(Conn& conn, ConnectionEnd why);
// At the cap: ends a lingering socket, else the longest-idle connection, else the oldest
// one still sending headers. False when there is nothing to end.
bool MakeRoom(LoopState& loop);
// Connections counted against the loop's cap.
std::size_t Occupied(const LoopState& loop);
// Applies the timeouts and follows the phases h2o does not report.
void Sweep(LoopState& loop, std::uint64_t now);
// Request bytes the kernel holds that h2o has not read yet.
bool BytesWaiting(h2o_socket_t* sock);
// The connection of a request, or nullptr when h2o gives no socket.
Conn* ConnOf(h2o_req_t* req);
// After a 413 h2o closes the connection: keep its socket open for a lingering close.
void PrepareLinger(Conn& conn);
// Ends every lingering socket (the loop is stopping).
void EndLingering(LoopState& loop);

// ---- listener.cc ------------------------------------------------------------------------------

void OnAccept(h2o_socket_t* listener, const char* err);
// Accepting was paused at the cap: resumes it when a connection has ended.
void ResumeAcceptingIfRoom(LoopState& loop);
std::string FormatHost(const sockaddr_storage& addr);
int PortOf(const sockaddr_storage& addr);
void SetPort(sockaddr_storage* addr, int port);
// SO_REUSEPORT would let a second process share a taken port: checks it is free first.
Status CheckPortFree(const sockaddr_storage& addr, socklen_t addr_len);
// A non-blocking listening socket with SO_REUSEPORT, so each loop can own one on the same port.
Result<int> OpenListener(const sockaddr_storage& addr, socklen_t addr_len);
// Raises the soft open-file limit towards what the connection cap needs and returns the cap
// that fits under the limit in force.
int FitConnectionCap(int wanted, int threads);

// ---- json_error_filter.cc ---------------------------------------------------------------------

// Registers the filter that rewrites h2o's own error answers as JSON (and counts and logs
// them) on the host's fallback path.
void InstallJsonErrorFilter(h2o_hostconf_t* hostconf, HttpServer::Impl* server);

// ---- parse_guard.cc ---------------------------------------------------------------------------

// Tracks a new connection and reads its first request head; h2o gets the socket once the head
// is complete and sound.
void StartReading(LoopState& loop, h2o_socket_t* sock);
// The framing rules h2o does not apply (framing.h), over the head of the request being handled.
std::optional<Rejection> CheckRequestFraming(h2o_req_t* req);

// ---- drain.cc ---------------------------------------------------------------------------------

// After the stop flag: accepts the backlog, closes the listener, answers what was read and
// ends the loop's connections within the grace period. False when connections were left open
// (the loop's context must then outlive it).
bool DrainLoop(LoopState& loop);

// ---- http_server.cc ---------------------------------------------------------------------------

// A new request id, written into `buffer`.
std::string_view NewRequestId(LoopState& loop, std::span<char> buffer);
// The request id to answer with: the client's when it is well formed, else a new one
// written into `buffer`.
std::string_view RequestIdFor(h2o_req_t* req, LoopState& loop, std::span<char> buffer);
// Counts the request in the metrics and writes its access-log line.
void Record(LoopState& loop, h2o_req_t* req, int route, const Response& response,
            std::chrono::nanoseconds latency, std::string_view request_id);
// Registers the route table's handler on the host's path.
void InstallRouteHandler(h2o_pathconf_t* pathconf, HttpServer::Impl* server);
// Sends the deferred answers other threads completed.
void DeliverMail(LoopState& loop);
// Makes the mailbox's eventfd and watches it, so a Send wakes the loop; without it (the
// eventfd could not be made) the mail waits for the poll.
void OpenMailboxWake(LoopState& loop);
// Closes the mailbox (later Sends are dropped, undelivered mail is discarded) and its eventfd.
void CloseMailbox(LoopState& loop);

}  // namespace internal

struct HttpServer::Impl {
  ServerOptions options;
  Router router;
  ServerObservers observers;
  std::vector<std::string> route_labels;
  std::string host;
  int port = 0;
  int max_connections = 0;
  h2o_globalconf_t globalconf{};
  bool globalconf_ready = false;
  std::vector<int> listen_fds;  // owned until handed to a loop thread
  std::vector<std::unique_ptr<internal::LoopState>> loops;
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};
  std::atomic<int> undrained_loops{0};

  ~Impl();

  void RunLoop(internal::LoopState& loop, int listen_fd);
};

}  // namespace csml::server
