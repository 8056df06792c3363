// Child processes for integration tests: the real csml binary with its output in a log file,
// every wait bounded, and never left running (the destructor kills and reaps).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace csml::integration {

using EnvOverrides = std::vector<std::pair<std::string, std::string>>;

class Child {
 public:
  // Starts `binary args...` with stdout and stderr written to `log_path` (stderr to
  // `stderr_path` instead when given), the environment of this process plus `env` (which
  // replaces variables of the same name). pid -1 on failure.
  Child(const std::string& binary, const std::vector<std::string>& args,
        const std::string& log_path, const EnvOverrides& env = {},
        const std::string& stderr_path = {});
  ~Child();  // SIGKILL and reap when still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0; }
  // The exit code (128 + signal when killed), or nullopt if still running after `timeout`.
  std::optional<int> WaitFor(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`; the exit code.
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct RunResult {
  int exit_code = -1;  // -1 when it had to be killed at the timeout
  std::string output;  // stdout and stderr (stdout only from RunSplit)
  std::string errors;  // RunSplit only: stderr
};

// Runs to completion, killed after `timeout`.
RunResult Run(const std::string& binary, const std::vector<std::string>& args,
              const std::string& log_path, std::chrono::milliseconds timeout,
              const EnvOverrides& env = {});

// Runs to completion like Run, with stdout in `out_path` and stderr in `err_path`, to check
// what each stream carries.
RunResult RunSplit(const std::string& binary, const std::vector<std::string>& args,
                   const std::string& out_path, const std::string& err_path,
                   std::chrono::milliseconds timeout, const EnvOverrides& env = {});

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

// Waits for "listening on http://HOST:PORT" in the log; the port, or -1 when the child ended
// first or `timeout` passed.
int WaitForPort(Child& child, const std::string& log_path, std::chrono::milliseconds timeout);

// A fresh directory, removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
int UnusedPort();

struct HttpAnswer {
  int status = 0;  // 0 when no answer came
  std::string body;
};

// One plain HTTP/1.1 GET to 127.0.0.1:port (Connection: close, 10 s timeout), with the given
// extra header lines ("Name: value"), to see a server's answers without a client's policy.
HttpAnswer HttpGet(int port, const std::string& target, const std::vector<std::string>& headers);

}  // namespace csml::integration
