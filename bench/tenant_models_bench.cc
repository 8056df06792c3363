// Per-tenant models in one process (issue 15): N tenant namespaces, each with one version of
// the default-size model, loaded one after another as a router would on each tenant's first
// request, all kept (or only the last K), with the first-use load time per tenant and the
// process's resident memory (docs/PERFORMANCE.md, "Tenant models: memory and first-use load").
//
// Run with:  build/<dir>/bench/tenant_models_bench [--tenants N] [--keep K] [--model-dir DIR]
//                [--customers C] [--days D] [--seed S] [--keep-registry]
// (defaults: 1000 tenants, all kept; the model is trained as `csml train --no-tune` trains it
// on `csml simulate --customers 5000 --days 120 --seed 7 --end 2025-08-01`; --model-dir takes
// the served version of an existing registry instead, e.g. one `csml train` wrote).
// Not a Google Benchmark program: each tenant's first load happens once.
//
// The registry is written by a forked child (training, then publishing and promoting the same
// model bytes in every tenant), so the measuring process never ran XGBoost and its RSS before
// the loads is a server's before any tenant is served. A load is what the first request of a
// tenant costs: Registry::OpenTenant + LoadServingModel of the served version (resolving
// SERVING, reading and checking meta and bytes, building the forest, the warm-up score), with
// the page cache warm (the registry was just written). RSS is VmRSS of /proc/self/status; the
// figures after the loads are read as they are and again after malloc_trim(0), which returns
// the heap's free pages (what the RSS of a dropped model becomes).
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "csml/predict/forest.h"
#include "csml/registry/registry.h"
#include "csml/serving/model_loader.h"
#include "csml/simulate/simulator.h"
#include "csml/training/train_pipeline.h"

namespace csml {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr UnixSeconds kEnd = 1754006400;  // 2025-08-01T00:00:00Z

struct Flags {
  int tenants = 1000;
  int keep = 0;  // 0: all
  fs::path model_dir;
  std::size_t customers = 5000;
  int days = 120;
  std::uint64_t seed = 7;
  bool keep_registry = false;
  long explain_table_bytes = -1;  // -1: the explainer's default
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "tenant_models_bench: %s\nusage: tenant_models_bench [--tenants N] [--keep K] "
               "[--model-dir DIR] [--customers C] [--days D] [--seed S] [--keep-registry] "
               "[--explain-table-bytes B]\n",
               why.c_str());
  std::exit(2);
}

template <typename T>
T ParseNumber(std::string_view flag, std::string_view text, T min) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min) {
    Usage(fmt::format("{} needs a whole number >= {}, got '{}'", flag, min, text));
  }
  return value;
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--keep-registry") {
      flags.keep_registry = true;
      continue;
    }
    if (i + 1 >= argc) Usage(fmt::format("unknown flag or missing value: {}", arg));
    const std::string_view value = argv[++i];
    if (arg == "--tenants") {
      flags.tenants = ParseNumber<int>(arg, value, 1);
    } else if (arg == "--keep") {
      flags.keep = ParseNumber<int>(arg, value, 1);
    } else if (arg == "--model-dir") {
      flags.model_dir = value;
    } else if (arg == "--customers") {
      flags.customers = ParseNumber<std::size_t>(arg, value, 1);
    } else if (arg == "--days") {
      flags.days = ParseNumber<int>(arg, value, 1);
    } else if (arg == "--explain-table-bytes") {
      flags.explain_table_bytes = ParseNumber<long>(arg, value, 0);
    } else if (arg == "--seed") {
      flags.seed = ParseNumber<std::uint64_t>(arg, value, 0);
    } else {
      Usage(fmt::format("unknown flag: {}", arg));
    }
  }
  return flags;
}

// VmRSS (or another "Key:" line in kB) of this process, in MiB.
double StatusMiB(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(std::strlen(key))) / 1024.0;
  }
  return -1;
}

std::string TenantId(int i) { return fmt::format("t{:04d}", i); }

// `csml train --no-tune` on `csml simulate` data: the fixed default configuration.
Status TrainSource(const Flags& flags, const fs::path& root) {
  SimulatorOptions sim;
  sim.customers = flags.customers;
  sim.days = flags.days;
  sim.seed = flags.seed;
  sim.end = kEnd;
  CSML_ASSIGN_OR_RETURN(std::vector<Snapshot> records, SimulateSnapshots(sim));
  TrainPipelineOptions options;
  options.model_dir = root / "source";
  CSML_ASSIGN_OR_RETURN(TrainPipeline pipeline, TrainPipeline::Create(std::move(options)));
  const TrainingLoader load = [&]() -> Result<TrainingInput> {
    TrainingInput input;
    input.batch.records_seen = records.size();
    input.batch.records = std::move(records);
    input.as_of = kEnd;
    input.days = flags.days;
    input.origin = "simulated";
    return input;
  };
  TrainObserver quiet;
  CSML_ASSIGN_OR_RETURN(TrainPipelineResult result, pipeline.Run(load, quiet));
  if (result.refused) return MakeError(ErrorCode::kValidation, "the validator refused the data");
  return {};
}

struct Source {
  ModelMeta meta;
  std::string bytes;
};

Result<Source> ReadSource(const fs::path& dir) {
  CSML_ASSIGN_OR_RETURN(Registry registry, Registry::Open(dir, RegistryOpenMode::kReadOnly));
  CSML_ASSIGN_OR_RETURN(LoadedVersion loaded, LoadVersion(registry, ""));
  Source source;
  CSML_ASSIGN_OR_RETURN(source.bytes, registry.ReadModelBytes(loaded.meta));
  source.meta = std::move(loaded.meta);
  return source;
}

// The child's work: the source model, then one promoted version of it per tenant.
Status WriteRegistry(const Flags& flags, const fs::path& root) {
  fs::path source_dir = flags.model_dir;
  if (source_dir.empty()) {
    const auto started = Clock::now();
    CSML_TRY(TrainSource(flags, root));
    std::fprintf(stderr, "trained the source model in %.1f s\n",
                 std::chrono::duration<double>(Clock::now() - started).count());
    source_dir = root / "source";
  }
  CSML_ASSIGN_OR_RETURN(Source source, ReadSource(source_dir));
  const auto started = Clock::now();
  for (int i = 0; i < flags.tenants; ++i) {
    CSML_ASSIGN_OR_RETURN(
        Registry tenant,
        Registry::OpenTenant(root / "registry", TenantId(i), RegistryOpenMode::kCreateIfMissing));
    CSML_ASSIGN_OR_RETURN(ModelMeta meta, tenant.Publish(source.bytes, source.meta));
    CSML_TRY(tenant.Promote(meta.version));
  }
  std::fprintf(stderr, "published and promoted %d tenant versions in %.1f s\n", flags.tenants,
               std::chrono::duration<double>(Clock::now() - started).count());
  return {};
}

double Percentile(std::vector<double> sorted, double p) {
  std::sort(sorted.begin(), sorted.end());
  const double at = p * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(at);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - static_cast<double>(lo));
}

int Run(const Flags& flags) {
  char pattern[] = "/tmp/csml-tenant-bench-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    std::perror("mkdtemp");
    return 2;
  }
  const fs::path root = pattern;
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t child = fork();
  if (child < 0) {
    std::perror("fork");
    return 2;
  }
  if (child == 0) {
    const Status written = WriteRegistry(flags, root);
    if (!written) std::fprintf(stderr, "setting up: %s\n", written.error().message.c_str());
    std::fflush(stderr);
    _exit(written ? 0 : 2);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "the set-up child failed\n");
    return 2;
  }

  // The model's size, from the first tenant's version (read in a scope of its own: nothing of
  // it is kept when the loads start).
  std::size_t trees = 0;
  std::size_t nodes = 0;
  std::size_t model_bytes = 0;
  {
    auto tenant0 =
        Registry::OpenTenant(root / "registry", TenantId(0), RegistryOpenMode::kReadOnly);
    Result<std::string> bytes = std::string();
    if (tenant0) {
      auto promoted = tenant0->PromotedVersion();
      if (promoted && *promoted) {
        auto promoted_meta = tenant0->ReadMeta(**promoted);
        bytes = promoted_meta ? tenant0->ReadModelBytes(*promoted_meta)
                              : tl::unexpected(promoted_meta.error());
      } else {
        bytes = MakeError(ErrorCode::kNotFound, "no promoted version in tenant " + TenantId(0));
      }
    } else {
      bytes = tl::unexpected(tenant0.error());
    }
    if (!bytes) {
      std::fprintf(stderr, "%s\n", bytes.error().message.c_str());
      return 2;
    }
    auto forest = LoadForest(*bytes);
    if (!forest) {
      std::fprintf(stderr, "%s\n", forest.error().message.c_str());
      return 2;
    }
    trees = forest->num_trees();
    nodes = forest->num_nodes();
    model_bytes = bytes->size();
  }
  malloc_trim(0);

  const double rss_before = StatusMiB("VmRSS:");
  std::vector<double> load_ms;
  load_ms.reserve(static_cast<std::size_t>(flags.tenants));
  std::deque<std::shared_ptr<const ServingModel>> kept;
  for (int i = 0; i < flags.tenants; ++i) {
    const auto started = Clock::now();
    auto registry =
        Registry::OpenTenant(root / "registry", TenantId(i), RegistryOpenMode::kReadOnly);
    if (!registry) {
      std::fprintf(stderr, "%s: %s\n", TenantId(i).c_str(), registry.error().message.c_str());
      return 2;
    }
    LoadOptions load;
    if (flags.explain_table_bytes >= 0) {
      load.explain_table_bytes = static_cast<std::size_t>(flags.explain_table_bytes);
    }
    auto model = LoadServingModel(*registry, "", load);
    if (!model) {
      std::fprintf(stderr, "%s: %s\n", TenantId(i).c_str(), model.error().message.c_str());
      return 2;
    }
    load_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    kept.push_back(std::move(*model));
    if (flags.keep > 0 && kept.size() > static_cast<std::size_t>(flags.keep)) kept.pop_front();
  }
  const double rss_after = StatusMiB("VmRSS:");
  const double peak = StatusMiB("VmHWM:");
  malloc_trim(0);
  const double rss_trimmed = StatusMiB("VmRSS:");

  const std::size_t loaded = static_cast<std::size_t>(flags.tenants);
  const std::size_t leaves = (nodes + trees) / 2;  // binary trees: nodes = 2 x leaves - 1
  fmt::print("model: {} trees, {} leaves ({:.1f} a tree), {} nodes, model file {} bytes\n", trees,
             leaves, static_cast<double>(leaves) / static_cast<double>(trees), nodes, model_bytes);
  fmt::print("tenants loaded: {}, kept: {}\n\n", loaded, kept.size());
  fmt::print("| figure | value |\n|---|---|\n");
  fmt::print("| first-use load, median | {:.2f} ms |\n", Percentile(load_ms, 0.5));
  fmt::print("| first-use load, p95 | {:.2f} ms |\n", Percentile(load_ms, 0.95));
  fmt::print("| first-use load, max | {:.2f} ms |\n", Percentile(load_ms, 1.0));
  fmt::print("| all loads | {:.2f} s |\n", [&] {
    double total = 0;
    for (const double ms : load_ms) total += ms;
    return total / 1000.0;
  }());
  fmt::print("| RSS before the loads | {:.1f} MiB |\n", rss_before);
  fmt::print("| RSS after the loads | {:.1f} MiB |\n", rss_after);
  fmt::print("| RSS after the loads, after malloc_trim(0) | {:.1f} MiB |\n", rss_trimmed);
  fmt::print("| peak RSS (VmHWM) | {:.1f} MiB |\n", peak);
  fmt::print("| RSS delta per kept model | {:.1f} KiB |\n",
             (rss_after - rss_before) * 1024.0 / static_cast<double>(kept.size()));
  kept.clear();

  if (flags.keep_registry) {
    std::fprintf(stderr, "registry kept in %s\n", root.c_str());
  } else {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  return 0;
}

}  // namespace
}  // namespace csml

int main(int argc, char** argv) { return csml::Run(csml::ParseFlags(argc, argv)); }
