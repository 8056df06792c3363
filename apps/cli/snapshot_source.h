// Where a command's labeled snapshots come from (docs/DATA_CONTRACT.md and docs/COMMANDS.md): a
// file given with
// --input, else the CS API (CS_FEATURES_URL / --url, TENANT_ID / --tenant) through the libcurl
// client. Every command that reads snapshots goes through LoadSnapshots, so a file and the API
// give the same records for the same window (validation/source_window.h): the API selects the
// window itself, and csml selects it from a file.
//
// AddSnapshotSourceFlags puts the shared flags on a CLI11 subcommand (--input --days --as-of
// --url --tenant and the client's timeouts and retries), with defaults from the environment.
// Retries are logged (spdlog warn) without the tenant id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cs_api_client.h"
#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/snapshot_reader.h"

namespace csml::cli {

struct SnapshotSourceOptions {
  std::string input;                 // a snapshots file (.json array or JSON Lines); "" = CS API
  int days = 90;                     // the window: label_ts in the N days up to the as-of time
  std::optional<UnixSeconds> as_of;  // default: newest label_ts (file), now (CS API)
  bool select_window = true;         // file only: false keeps every record of the file
  cs_client::CsApiClientOptions client;  // url, tenant, timeouts, retries, size cap
  SnapshotReadOptions read;              // kFail or kSkip, problems kept
};

struct LoadedSnapshots {
  SnapshotBatch batch;    // the records of the window (see select_window)
  UnixSeconds as_of = 0;  // the as-of time the window ends at
  int days = 0;
  std::size_t outside_window = 0;  // file records left out by the window
  std::string origin;              // "file data.json" or "GET http://host/path?days=90"
  std::vector<cs_client::FetchAttempt> attempts;  // CS API only: one per attempt
  std::size_t bytes = 0;                          // bytes read from the file or the response body
};

// Reads the file or fetches from the CS API. Errors name the source: kIo / kParse /
// kValidation for a file, kUnavailable / kTimeout / kParse for the CS API; an input without a
// single record (an empty file, an answer of []) is kValidation "no records".
Result<LoadedSnapshots> LoadSnapshots(const SnapshotSourceOptions& options);

// The flag values as typed, before they are checked.
struct SnapshotSourceFlags {
  std::string input;
  int days = 90;
  std::string as_of;  // RFC 3339; "" = the default of LoadSnapshots
  std::string url;
  std::string tenant;
  std::int64_t connect_timeout_ms = cs_client::CsApiClientOptions{}.connect_timeout_ms;
  std::int64_t timeout_ms = cs_client::CsApiClientOptions{}.total_timeout_ms;
  int retries = cs_client::CsApiClientOptions{}.max_attempts - 1;
  std::int64_t backoff_ms = cs_client::CsApiClientOptions{}.backoff_initial_ms;
  std::int64_t backoff_max_ms = cs_client::CsApiClientOptions{}.backoff_max_ms;
  std::int64_t max_response_mb =
      static_cast<std::int64_t>(cs_client::CsApiClientOptions{}.max_response_bytes >> 20);

  // Checks and converts (as-of parsed, days >= 1, client options validated when no --input).
  Result<SnapshotSourceOptions> ToOptions() const;
};

// Adds --input --days --as-of --url --tenant --connect-timeout-ms --timeout-ms --retries
// --backoff-ms --backoff-max-ms --max-response-mb to `command`, bound to *flags (which must
// outlive the parse). url and tenant default to CS_FEATURES_URL and TENANT_ID.
void AddSnapshotSourceFlags(CLI::App* command, SnapshotSourceFlags* flags, int default_days);

}  // namespace csml::cli
