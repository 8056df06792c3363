#include "snapshot_source.h"

#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "csml/validation/source_window.h"
#include "environment.h"
#include "flag_names.h"

namespace csml::cli {
namespace {

Result<LoadedSnapshots> LoadFile(const SnapshotSourceOptions& options) {
  LoadedSnapshots out;
  out.days = options.days;
  out.origin = "file " + options.input;
  Result<SnapshotBatch> batch = ReadSnapshotFile(options.input, options.read);
  if (!batch) return tl::unexpected(batch.error());
  // Nothing to check, train on or date a window by: the command cannot run.
  if (batch->records_seen == 0) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{}: no records: the file holds no snapshots", options.input));
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(options.input, ec);
  out.bytes = ec ? 0 : static_cast<std::size_t>(size);
  Result<SourceWindow> window = MakeSourceWindow(batch->records, options.days, options.as_of);
  if (!window) return tl::unexpected(window.error().WithContext(options.input));
  out.as_of = window->as_of;
  if (options.select_window) out.outside_window = KeepSourceWindow(*window, &batch->records);
  out.batch = std::move(*batch);
  return out;
}

Result<LoadedSnapshots> Fetch(const SnapshotSourceOptions& options) {
  Result<cs_client::CsApiClient> client = cs_client::CsApiClient::Create(options.client);
  if (!client) return tl::unexpected(client.error());
  LoadedSnapshots out;
  out.days = options.days;
  out.origin = "GET " + client->RequestUrl(options.days);
  // The as-of time of the API's window is its own clock; ours stands in for it.
  out.as_of = options.as_of.value_or(NowUtc());
  const std::string& origin = out.origin;
  Result<cs_client::FetchResult> fetched = client->FetchSnapshots(
      options.days, options.read, [&origin](const cs_client::FetchAttempt& attempt) {
        spdlog::warn("{}: attempt {} failed: {}; retrying if attempts remain", origin,
                     attempt.attempt, attempt.outcome);
      });
  if (!fetched) return tl::unexpected(fetched.error());
  if (fetched->batch.records_seen == 0) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{}: no records: the CS API answered with no snapshots for the "
                                 "last {} days",
                                 origin, options.days));
  }
  out.batch = std::move(fetched->batch);
  out.attempts = std::move(fetched->attempts);
  out.bytes = fetched->body_bytes;
  return out;
}

}  // namespace

Result<LoadedSnapshots> LoadSnapshots(const SnapshotSourceOptions& options) {
  if (options.days < 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--days: expected a whole number >= 1, got {}", options.days));
  }
  return options.input.empty() ? Fetch(options) : LoadFile(options);
}

Result<SnapshotSourceOptions> SnapshotSourceFlags::ToOptions() const {
  SnapshotSourceOptions options;
  options.input = input;
  if (days < 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--days: expected a whole number >= 1, got {}", days));
  }
  options.days = days;
  if (!as_of.empty()) {
    Result<UnixSeconds> parsed = ParseRfc3339(as_of);
    if (!parsed) return tl::unexpected(parsed.error().WithContext("--as-of"));
    options.as_of = *parsed;
  }
  // The client's own checks name its fields; these name the flags.
  constexpr int kMaxRetries = 19;  // the client makes at most 20 attempts
  if (retries < 0 || retries > kMaxRetries) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--retries: expected 0 to {}, got {}", kMaxRetries, retries));
  }
  for (const auto& [flag, ms] :
       {std::pair<std::string_view, std::int64_t>{"--connect-timeout-ms", connect_timeout_ms},
        {"--timeout-ms", timeout_ms}}) {
    if (ms < 1) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}: expected a whole number of ms >= 1, got {}", flag, ms));
    }
  }
  if (backoff_ms < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--backoff-ms: expected 0 or more ms, got {}", backoff_ms));
  }
  if (backoff_max_ms < backoff_ms) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--backoff-max-ms: expected at least --backoff-ms ({}), got {}",
                                 backoff_ms, backoff_max_ms));
  }
  constexpr std::int64_t kMaxResponseMb = 1 << 20;
  if (max_response_mb < 1 || max_response_mb > kMaxResponseMb) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--max-response-mb: expected 1 to {}, got {}", kMaxResponseMb,
                                 max_response_mb));
  }
  cs_client::CsApiClientOptions& client = options.client;
  client.url = url;
  client.tenant_id = tenant;
  client.connect_timeout_ms = connect_timeout_ms;
  client.total_timeout_ms = timeout_ms;
  client.max_attempts = retries + 1;
  client.backoff_initial_ms = backoff_ms;
  client.backoff_max_ms = backoff_max_ms;
  client.max_response_bytes = static_cast<std::size_t>(max_response_mb) << 20;
  if (input.empty()) {
    if (Status valid = NameFlags(client.Validate(), {{"CS API url", "--url (or CS_FEATURES_URL)"}});
        !valid) {
      return tl::unexpected(valid.error());
    }
  }
  return options;
}

void AddSnapshotSourceFlags(CLI::App* command, SnapshotSourceFlags* flags, int default_days) {
  const Environment env = ReadEnvironment();
  flags->days = default_days;
  flags->url = env.cs_features_url;
  flags->tenant = env.tenant_id;
  command->add_option("--input", flags->input,
                      "Snapshots file (JSON array or JSON Lines); without it, the CS API");
  command
      ->add_option("--days", flags->days,
                   "Window: the labeled snapshots whose label_ts falls in the DAYS days up to the "
                   "as-of time")
      ->capture_default_str();
  command->add_option("--as-of", flags->as_of,
                      "As-of time, RFC 3339 (default: the newest label_ts of --input, now for the "
                      "CS API)");
  // The default is not echoed: a URL from the environment may carry user:password@.
  command->add_option("--url", flags->url,
                      fmt::format("CS API features URL (env CS_FEATURES_URL, else {})",
                                  Environment{}.cs_features_url));
  // No default shown: the tenant id is a credential.
  command->add_option("--tenant", flags->tenant, "CS API tenant id (env TENANT_ID)");
  command
      ->add_option("--connect-timeout-ms", flags->connect_timeout_ms,
                   "CS API: time allowed to connect, per attempt")
      ->capture_default_str();
  command
      ->add_option("--timeout-ms", flags->timeout_ms,
                   "CS API: time allowed for a whole response, per attempt")
      ->capture_default_str();
  command
      ->add_option("--retries", flags->retries,
                   "CS API: retries after a timeout, a lost connection, 429 or 5xx")
      ->capture_default_str();
  command
      ->add_option("--backoff-ms", flags->backoff_ms,
                   "CS API: first retry waits up to this (exponential, jittered)")
      ->capture_default_str();
  command->add_option("--backoff-max-ms", flags->backoff_max_ms, "CS API: longest wait")
      ->capture_default_str();
  command
      ->add_option("--max-response-mb", flags->max_response_mb,
                   "CS API: larger responses are refused")
      ->capture_default_str();
}

}  // namespace csml::cli
