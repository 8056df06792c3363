// Child processes for end-to-end tests: the real csml binary, output to a log file, every
// wait bounded, and never left running (the destructor kills and reaps).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "csml/core/error.h"

namespace csml::e2e {

class ChildProcess {
 public:
  using Environment = std::vector<std::pair<std::string, std::string>>;

  // Starts `binary args...` with stdout and stderr appended to `log_path`, in this process's
  // environment with `env` set on top (an empty value unsets the variable).
  static Result<ChildProcess> Start(const std::string& binary, const std::vector<std::string>& args,
                                    const std::string& log_path, const Environment& env = {});

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
  int exit_status = -1;
  std::string output;  // stdout and stderr
};

// Runs a command to completion (killed after `timeout`, which is then an error).
Result<RunResult> RunCommand(const std::string& binary, const std::vector<std::string>& args,
                             const std::string& log_path, std::chrono::milliseconds timeout);

std::string ReadWholeFile(const std::string& path);

// Waits until the server's log says "listening on http://HOST:PORT" and returns PORT; fails
// when the process ends first or `timeout` passes.
Result<int> WaitForListeningPort(ChildProcess& process, const std::string& log_path,
                                 std::chrono::milliseconds timeout);

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace csml::e2e
