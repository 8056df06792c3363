// Child processes for the end-to-end, integration and browser tests: the real csml binary (or
// any program), output to a log file, every wait bounded, and never left running (the
// destructor kills and reaps). Also the port and HTTP helpers those suites share.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "csml/core/error.h"
#include "testing/files.h"

namespace csml::testing {

// Variables set on top of this process's environment for a child (an empty value unsets one).
using Environment = std::vector<std::pair<std::string, std::string>>;

class ChildProcess {
 public:
  using Environment = testing::Environment;

  // Starts `binary args...` with stdout and stderr appended to `log_path` (stderr to
  // `stderr_path` instead when it is not empty; stdin is /dev/null), in this process's
  // environment with `env` set on top.
  static Result<ChildProcess> Start(const std::string& binary, const std::vector<std::string>& args,
                                    const std::string& log_path, const Environment& env = {},
                                    const std::string& stderr_path = {});

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // SIGKILL and reap when still running

  pid_t pid() const { return pid_; }
  bool running();

  // The exit status (the exit code, or 128 + the signal) once the process has ended, or
  // nullopt if it is still running after `timeout`.
  std::optional<int> WaitFor(std::chrono::milliseconds timeout);

  // SIGTERM, then SIGKILL when it has not ended within `grace`; returns the exit status.
  int Stop(std::chrono::milliseconds grace);

  // Sends a signal (false when the process has already ended).
  bool Signal(int signal_number);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct RunResult {
  int exit_code = -1;  // the exit code, or 128 + the signal that ended it
  std::string output;  // stdout and stderr (stdout only from RunSplit)
  std::string errors;  // RunSplit only: stderr
};

// Runs a command to completion (killed after `timeout`, which is then an error).
Result<RunResult> RunCommand(const std::string& binary, const std::vector<std::string>& args,
                             const std::string& log_path, std::chrono::milliseconds timeout,
                             const Environment& env = {});

// RunCommand for tests that only look at the exit code and the output: a command that cannot
// start or does not finish in time has exit_code -1 and the reason at the end of its output.
RunResult Run(const std::string& binary, const std::vector<std::string>& args,
              const std::string& log_path, std::chrono::milliseconds timeout,
              const Environment& env = {});

// Run with stdout in `out_path` and stderr in `err_path`, to check what each stream carries.
RunResult RunSplit(const std::string& binary, const std::vector<std::string>& args,
                   const std::string& out_path, const std::string& err_path,
                   std::chrono::milliseconds timeout, const Environment& env = {});

// Waits until the server's log says "listening on http://HOST:PORT" and returns PORT; fails
// when the process ends first or `timeout` passes.
Result<int> WaitForListeningPort(ChildProcess& process, const std::string& log_path,
                                 std::chrono::milliseconds timeout);

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released); -1 on failure.
int UnusedPort();

struct HttpAnswer {
  int status = 0;  // 0 when no answer came
  std::string body;
};

// One plain HTTP/1.1 GET to 127.0.0.1:port (Connection: close, 10 s timeout), with the given
// extra header lines ("Name: value"), to see a server's answers without a client's policy.
HttpAnswer HttpGet(int port, const std::string& target, const std::vector<std::string>& headers);

}  // namespace csml::testing
