#include "child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <utility>

#include <fmt/format.h>

extern char** environ;  // NOLINT: POSIX, passed on to the child unchanged

namespace csml::e2e {
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
                                         const std::string& log_path, const Environment& env) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
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

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<RunResult> RunCommand(const std::string& binary, const std::vector<std::string>& args,
                             const std::string& log_path, std::chrono::milliseconds timeout) {
  auto child = ChildProcess::Start(binary, args, log_path);
  if (!child) return tl::unexpected(child.error());
  const std::optional<int> status = child->WaitFor(timeout);
  if (!status) {
    child->Stop(std::chrono::milliseconds(0));
    return MakeError(ErrorCode::kTimeout,
                     fmt::format("{} {} did not finish in {} ms; output:\n{}", binary,
                                 fmt::join(args, " "), timeout.count(), ReadWholeFile(log_path)));
  }
  return RunResult{*status, ReadWholeFile(log_path)};
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

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "csml-e2e-XXXXXX").string();
  if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace csml::e2e
