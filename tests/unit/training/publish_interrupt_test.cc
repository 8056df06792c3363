// A publisher killed at any moment (SIGKILL: no destructor, no cleanup) must leave a registry
// that opens, lists, resolves the served version and loads every listed version.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "csml/model/xgboost_booster.h"
#include "csml/registry/registry.h"

namespace csml {
namespace {

namespace fs = std::filesystem;

// Starts the child on `dir`; returns its pid and the read end of its stdout.
std::pair<pid_t, int> StartChild(const fs::path& dir) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {-1, -1};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::execl(CSML_PUBLISH_LOOP_CHILD, CSML_PUBLISH_LOOP_CHILD, dir.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// Waits for the child's "ready" line (it has trained and is about to publish).
bool WaitReady(int fd) {
  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (seen.find("ready\n") == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[64];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    seen.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

void ExpectLoadable(const fs::path& dir, int attempt) {
  SCOPED_TRACE("after kill " + std::to_string(attempt));
  auto registry = Registry::Open(dir, RegistryOpenMode::kReadOnly);
  ASSERT_TRUE(registry.has_value()) << registry.error().message;
  auto listing = registry->Scan();
  ASSERT_TRUE(listing.has_value()) << listing.error().message;
  for (const RegistryProblem& p : listing->problems) {
    // Only what an interrupted write may leave: a temporary file, or a model whose meta had
    // not been moved into place yet. Never a half-written version.
    const bool temp = p.file.starts_with(".tmp-");
    const bool orphan_model = p.message.find("model file without a meta.json") != std::string::npos;
    EXPECT_TRUE(temp || orphan_model) << p.file << ": " << p.message;
  }
  auto versions = registry->List();
  ASSERT_TRUE(versions.has_value()) << versions.error().message;
  for (const ModelMeta& meta : *versions) {
    auto bytes = registry->ReadModelBytes(meta);
    ASSERT_TRUE(bytes.has_value()) << meta.version << ": " << bytes.error().message;
    auto booster = XgboostBooster::LoadJson(*bytes);
    EXPECT_TRUE(booster.has_value()) << meta.version << ": " << booster.error().message;
  }
  if (!versions->empty()) {
    auto served = registry->ResolveServed();
    ASSERT_TRUE(served.has_value()) << served.error().message;
    EXPECT_TRUE(registry->ReadMeta(*served).has_value());
    auto promoted = registry->PromotedVersion();
    ASSERT_TRUE(promoted.has_value()) << promoted.error().message;
    if (promoted->has_value()) {
      EXPECT_EQ(**promoted, *served);
    }
  }
  auto history = registry->History();
  EXPECT_TRUE(history.has_value()) << history.error().message;
}

TEST(PublishAndPromote, LeavesALoadableRegistryWhenThePublisherIsKilledAtAnyMoment) {
  std::random_device rd;
  const fs::path dir = fs::temp_directory_path() / ("csml-publish-kill-" + std::to_string(rd()));
  std::mt19937 rng(rd());
  constexpr int kKills = 12;
  std::size_t versions = 0;
  for (int attempt = 0; attempt < kKills; ++attempt) {
    const auto [pid, fd] = StartChild(dir);
    ASSERT_GT(pid, 0);
    const bool ready = WaitReady(fd);
    // Kill at a varied moment: sometimes right away, sometimes dozens of publishes in.
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 40000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(fd);
    ASSERT_TRUE(ready) << "the child did not start publishing";
    ASSERT_TRUE(WIFSIGNALED(status))
        << "the child ended on its own with status " << WEXITSTATUS(status);
    ExpectLoadable(dir, attempt);
    if (::testing::Test::HasFatalFailure()) break;
    versions = Registry::Open(dir, RegistryOpenMode::kReadOnly)->List()->size();
  }
  EXPECT_GT(versions, 0u) << "no publish completed before the kills";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace csml
