#include "testing/child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <regex>
#include <thread>
#include <utility>

#include <fmt/format.h>

extern char** environ;  // NOLINT: POSIX, passed on to the child unchanged

namespace csml::testing {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(10);

int StatusFromWait(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

}  // namespace

Result<ChildProcess> ChildProcess::Start(const std::string& binary,
                                         const std::vector<std::string>& args,
                                         const std::string& log_path, const Environment& env,
                                         const std::string& stderr_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (stderr_path.empty()) {
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  // The child starts with default signal handling whatever the test process changed.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGHUP);
  sigset_t no_mask;
  sigemptyset(&no_mask);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &no_mask);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> argv_strings;
  argv_strings.push_back(binary);
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  // This process's environment with `env` replacing (or, when empty, removing) variables.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    const bool replaced =
        std::any_of(env.begin(), env.end(), [&](const auto& kv) { return kv.first == name; });
    if (!replaced) env_strings.emplace_back(entry);
  }
  for (const auto& [name, value] : env) {
    if (!value.empty()) env_strings.push_back(name + "=" + value);
  }
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, binary.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return MakeError(ErrorCode::kIo, fmt::format("spawn {}: {}", binary, std::strerror(rc)));
  }
  return ChildProcess(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(other.status_) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) Stop(std::chrono::milliseconds(0));
    pid_ = std::exchange(other.pid_, -1);
    status_ = other.status_;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    int wstatus = 0;
    waitpid(pid_, &wstatus, 0);
  }
}

bool ChildProcess::running() { return !WaitFor(std::chrono::milliseconds(0)).has_value(); }

std::optional<int> ChildProcess::WaitFor(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int wstatus = 0;
    const pid_t done = waitpid(pid_, &wstatus, WNOHANG);
    if (done == pid_) {
      status_ = StatusFromWait(wstatus);
      return status_;
    }
    if (done < 0 && errno != EINTR) {
      status_ = -1;
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollInterval);
  }
}

int ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (status_) return *status_;
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  if (auto status = WaitFor(grace)) return *status;
  kill(pid_, SIGKILL);
  return WaitFor(std::chrono::seconds(10)).value_or(-1);
}

bool ChildProcess::Signal(int signal_number) {
  if (status_ || pid_ <= 0) return false;
  return kill(pid_, signal_number) == 0;
}

Result<RunResult> RunCommand(const std::string& binary, const std::vector<std::string>& args,
                             const std::string& log_path, std::chrono::milliseconds timeout,
                             const Environment& env) {
  auto child = ChildProcess::Start(binary, args, log_path, env);
  if (!child) return tl::unexpected(child.error());
  const std::optional<int> status = child->WaitFor(timeout);
  if (!status) {
    child->Stop(std::chrono::milliseconds(0));
    return MakeError(ErrorCode::kTimeout,
                     fmt::format("{} {} did not finish in {} ms; output:\n{}", binary,
                                 fmt::join(args, " "), timeout.count(), ReadWholeFile(log_path)));
  }
  return RunResult{*status, ReadWholeFile(log_path), ""};
}

RunResult Run(const std::string& binary, const std::vector<std::string>& args,
              const std::string& log_path, std::chrono::milliseconds timeout,
              const Environment& env) {
  auto run = RunCommand(binary, args, log_path, timeout, env);
  if (run) return std::move(*run);
  return RunResult{-1, ReadWholeFile(log_path) + "\n" + run.error().message, ""};
}

RunResult RunSplit(const std::string& binary, const std::vector<std::string>& args,
                   const std::string& out_path, const std::string& err_path,
                   std::chrono::milliseconds timeout, const Environment& env) {
  auto child = ChildProcess::Start(binary, args, out_path, env, err_path);
  if (!child) return RunResult{-1, "", child.error().message};
  const std::optional<int> status = child->WaitFor(timeout);
  if (!status) {
    child->Stop(std::chrono::milliseconds(0));
    return RunResult{
        -1, ReadWholeFile(out_path),
        ReadWholeFile(err_path) + fmt::format("\n(killed after {} ms)", timeout.count())};
  }
  return RunResult{*status, ReadWholeFile(out_path), ReadWholeFile(err_path)};
}

Result<int> WaitForListeningPort(ChildProcess& process, const std::string& log_path,
                                 std::chrono::milliseconds timeout) {
  static const std::regex kListening(R"(listening on http://[^ ]+:([0-9]+))");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const std::string log = ReadWholeFile(log_path);
    std::smatch match;
    if (std::regex_search(log, match, kListening)) return std::stoi(match[1].str());
    if (auto status = process.WaitFor(std::chrono::milliseconds(0))) {
      return MakeError(
          ErrorCode::kUnavailable,
          fmt::format("server exited with status {} before listening; log:\n{}", *status, log));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return MakeError(
          ErrorCode::kTimeout,
          fmt::format("server did not log its port within {} ms; log:\n{}", timeout.count(), log));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

int UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

HttpAnswer HttpGet(int port, const std::string& target, const std::vector<std::string>& headers) {
  HttpAnswer answer;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return answer;
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return answer;
  }
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const std::string& h : headers) request += h + "\r\n";
  request += "\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return answer;
  }
  std::string response;
  char buffer[16384];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    response.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody" (a fixed Content-Length body: the server closes).
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return answer;
  answer.status = std::stoi(response.substr(9, 3));
  const auto body_at = response.find("\r\n\r\n");
  if (body_at != std::string::npos) answer.body = response.substr(body_at + 4);
  return answer;
}

}  // namespace csml::testing
