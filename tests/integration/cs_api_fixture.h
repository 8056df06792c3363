// Shared set-up of the integration tests: a simulated snapshot file made by `csml simulate`
// and a running `csml cs-api` on 127.0.0.1 with an ephemeral port and chosen faults.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "testing/child_process.h"

namespace csml::integration {

inline constexpr char kTenant[] = "it-tenant-4f1c";
inline constexpr char kEnd[] = "2025-06-01";
inline constexpr char kAsOf[] = "2025-06-01T00:00:00Z";

inline const std::string& CsmlBinary() {
  static const std::string binary = CSML_BINARY;
  return binary;
}

// `csml simulate` into dir/name with a fixed end day; empty string on failure (the output
// says why in the log next to it).
inline std::string Simulate(const testing::TempDir& dir, const std::string& name, int customers,
                            int days, bool fixed_end = true) {
  const std::string out = dir.Join(name);
  std::vector<std::string> args = {"simulate",
                                   "--customers",
                                   std::to_string(customers),
                                   "--days",
                                   std::to_string(days),
                                   "--seed",
                                   "5",
                                   "--out",
                                   out};
  if (fixed_end) {
    args.push_back("--end");
    args.push_back(kEnd);
  }
  const testing::RunResult r =
      testing::Run(CsmlBinary(), args, out + ".log", std::chrono::seconds(60));
  return r.exit_code == 0 ? out : std::string();
}

// A running `csml cs-api --data FILE --port 0 --tenant kTenant EXTRA...`.
class CsApiProcess {
 public:
  CsApiProcess(const testing::TempDir& dir, const std::string& data,
               const std::vector<std::string>& extra)
      : log_(dir.Join("cs-api-" + std::to_string(++count_) + ".log")) {
    std::vector<std::string> args = {"cs-api",    "--data",    data, "--host",
                                     "127.0.0.1", "--port",    "0",  "--tenant",
                                     kTenant,     "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto child = testing::ChildProcess::Start(CsmlBinary(), args, log_);
    if (!child) return;
    child_ = std::move(*child);
    const auto port = testing::WaitForListeningPort(*child_, log_, std::chrono::seconds(20));
    port_ = port ? *port : -1;
  }
  ~CsApiProcess() {
    if (child_) child_->Stop(std::chrono::seconds(5));
  }

  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/customers/features/public";
  }
  std::string log() const { return testing::ReadWholeFile(log_); }
  // Stops the server and returns how many requests it answered (from its last log line).
  int StopAndCountRequests() {
    if (child_) child_->Stop(std::chrono::seconds(5));
    const std::string text = log();
    const std::string marker = "stopped after ";
    const auto at = text.rfind(marker);
    return at == std::string::npos ? -1 : std::stoi(text.substr(at + marker.size()));
  }

 private:
  static inline int count_ = 0;
  std::string log_;
  std::optional<testing::ChildProcess> child_;
  int port_ = -1;
};

}  // namespace csml::integration
