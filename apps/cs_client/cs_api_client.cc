#include "cs_api_client.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include <curl/curl.h>
#include <fmt/format.h>

#include "csml/data/snapshot_stream.h"

namespace csml::cs_client {
namespace {

struct CurlEasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct CurlListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlList = std::unique_ptr<curl_slist, CurlListDeleter>;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Hides user:password@ in a URL before it goes into a message.
std::string RedactUrl(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto at = url.find('@', scheme_end + 3);
  const auto slash = url.find('/', scheme_end + 3);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  return url.substr(0, scheme_end + 3) + "***@" + url.substr(at + 1);
}

std::string_view ReasonPhrase(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

// Why the last attempt failed, for the final error's code and hint.
enum class Failure { kConnect, kTimeout, kThrottled, kServer, kTruncated };

bool IsRetryableCurlCode(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

// State shared with libcurl's callbacks for one attempt.
struct Transfer {
  explicit Transfer(CURL* h, const SnapshotReadOptions& read_options, std::size_t max_bytes)
      : handle(h), parser(read_options), max_response_bytes(max_bytes) {}

  CURL* handle;
  SnapshotStreamParser parser;
  std::size_t max_response_bytes;
  std::size_t body_bytes = 0;
  long status = 0;
  std::string error_body;           // the first bytes of a non-200 answer
  std::optional<Error> data_error;  // the body broke the contract: not retryable
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->status == 0) curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &t->status);
  t->body_bytes += n;
  if (t->body_bytes > t->max_response_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  if (t->status != 200) {
    constexpr std::size_t kKeep = 512;
    if (t->error_body.size() < kKeep) t->error_body.append(data, std::min(n, kKeep));
    return n;
  }
  if (auto st = t->parser.Feed(std::string_view(data, n)); !st) {
    t->data_error = st.error();
    return 0;
  }
  return n;
}

}  // namespace

Status CsApiClientOptions::Validate() const {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("CS API url: expected an http:// or https:// URL, got '{}'", RedactUrl(url)));
  }
  if (tenant_id.find_first_not_of(" \t") == std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "CS API tenant: expected a tenant id (TENANT_ID or --tenant), got nothing");
  }
  // A control character would end the header early and inject others; the value is not shown.
  if (std::any_of(tenant_id.begin(), tenant_id.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "CS API tenant: expected printable characters only (check TENANT_ID or "
                     "--tenant)");
  }
  if (connect_timeout_ms <= 0 || total_timeout_ms <= 0 || low_speed_window_s <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "CS API timeouts: expected positive values");
  }
  if (max_attempts < 1 || max_attempts > 20) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("CS API attempts: expected 1..20, got {}", max_attempts));
  }
  if (backoff_initial_ms < 0 || backoff_max_ms < backoff_initial_ms || backoff_multiplier < 1.0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "CS API backoff: expected 0 <= initial <= max and multiplier >= 1");
  }
  if (max_response_bytes == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "CS API max response size must be positive");
  }
  return {};
}

struct CsApiClient::Impl {
  CsApiClientOptions options;
  CurlEasy handle;
  std::mt19937_64 rng;
};

CsApiClient::CsApiClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CsApiClient::CsApiClient(CsApiClient&&) noexcept = default;
CsApiClient& CsApiClient::operator=(CsApiClient&&) noexcept = default;
CsApiClient::~CsApiClient() = default;

Result<CsApiClient> CsApiClient::Create(CsApiClientOptions options) {
  CSML_TRY(options.Validate());
  GlobalInitOnce();
  CurlEasy handle(curl_easy_init());
  if (!handle) return MakeError(ErrorCode::kInternal, "libcurl could not create a handle");
  auto impl = std::make_unique<Impl>();
  const std::uint64_t seed =
      options.jitter_seed != 0
          ? options.jitter_seed
          : static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  impl->options = std::move(options);
  impl->handle = std::move(handle);
  impl->rng.seed(seed);
  return CsApiClient(std::move(impl));
}

namespace {

std::string UrlForDays(const std::string& url, int days) {
  return fmt::format("{}{}days={}", url, url.find('?') == std::string::npos ? '?' : '&', days);
}

}  // namespace

std::string CsApiClient::RequestUrl(int days) const {
  return RedactUrl(UrlForDays(impl_->options.url, days));
}

Result<FetchResult> CsApiClient::FetchSnapshots(
    int days, const SnapshotReadOptions& read_options,
    const std::function<void(const FetchAttempt&)>& on_attempt) {
  const CsApiClientOptions& opt = impl_->options;
  if (days < 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("days: expected a whole number >= 1, got {}", days));
  }
  const std::string url = UrlForDays(opt.url, days);
  const std::string shown_url = "GET " + RedactUrl(url);
  const std::string tenant_header = "X-Tenant-Id: " + opt.tenant_id;
  CurlList headers(curl_slist_append(nullptr, tenant_header.c_str()));
  headers.reset(curl_slist_append(headers.release(), "Accept: application/json"));

  FetchResult result;
  std::string last_failure;
  Failure last_kind = Failure::kConnect;
  std::int64_t waited_ms = 0;
  for (int attempt = 1; attempt <= opt.max_attempts; ++attempt) {
    CURL* h = impl_->handle.get();
    curl_easy_reset(h);
    Transfer transfer(h, read_options, opt.max_response_bytes);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt.connect_timeout_ms));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(opt.total_timeout_ms));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(opt.low_speed_window_s));
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // any encoding libcurl can decode
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(opt.max_response_bytes));

    const CURLcode code = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &transfer.status);
    result.body_bytes = transfer.body_bytes;
    FetchAttempt record{attempt, transfer.status, "ok", waited_ms};

    // Failures that another attempt cannot fix end the fetch at once.
    if (transfer.data_error) {
      return tl::unexpected(transfer.data_error->WithContext(shown_url));
    }
    if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("{}: the response is larger than the {} byte limit; ask for "
                                   "fewer days or raise the limit",
                                   shown_url, opt.max_response_bytes));
    }

    bool retryable = false;
    if (code != CURLE_OK) {
      retryable = IsRetryableCurlCode(code);
      last_kind = code == CURLE_OPERATION_TIMEDOUT ? Failure::kTimeout
                  : code == CURLE_PARTIAL_FILE     ? Failure::kTruncated
                                                   : Failure::kConnect;
      last_failure = fmt::format("{} ({})", curl_easy_strerror(code),
                                 code == CURLE_OPERATION_TIMEDOUT
                                     ? fmt::format("limit {} ms", opt.total_timeout_ms)
                                     : fmt::format("curl code {}", static_cast<int>(code)));
      if (!retryable) {
        return MakeError(
            ErrorCode::kUnavailable,
            fmt::format("{}: {}; check CS_FEATURES_URL or --url", shown_url, last_failure));
      }
    } else if (transfer.status != 200) {
      last_kind = transfer.status == 429 ? Failure::kThrottled : Failure::kServer;
      const bool server_side = transfer.status == 429 || transfer.status >= 500;
      last_failure = fmt::format("HTTP {} {}", transfer.status, ReasonPhrase(transfer.status));
      if (!server_side) {
        std::string hint;
        if (transfer.status == 401) {
          hint = "the tenant header was not accepted; check TENANT_ID or --tenant";
        } else if (transfer.status == 403) {
          hint = "this tenant may not read these features; check TENANT_ID or --tenant";
        } else if (transfer.status == 404) {
          hint = "no such endpoint; check CS_FEATURES_URL or --url";
        } else {
          hint = fmt::format("the API refused the request: {}", transfer.error_body);
        }
        return MakeError(ErrorCode::kUnavailable,
                         fmt::format("{}: {}: {}", shown_url, last_failure, hint));
      }
      retryable = true;
    } else {
      auto batch = transfer.parser.Finish();
      if (batch) {
        result.batch = std::move(*batch);
        result.attempts.push_back(record);
        return result;
      }
      // A body that stops early is a transport failure: another attempt may get all of it.
      last_kind = Failure::kTruncated;
      last_failure = fmt::format("HTTP 200 with a body cut short: {}", batch.error().message);
      retryable = true;
    }

    record.outcome = last_failure;
    result.attempts.push_back(record);
    if (on_attempt) on_attempt(record);
    if (!retryable || attempt == opt.max_attempts) break;

    // Full jitter: wait uniformly up to the exponential cap, but at least what the server
    // asked for in Retry-After, never more than backoff_max_ms.
    const double cap = std::min(static_cast<double>(opt.backoff_max_ms),
                                static_cast<double>(opt.backoff_initial_ms) *
                                    std::pow(opt.backoff_multiplier, attempt - 1));
    std::uniform_real_distribution<double> jitter(0.0, cap);
    auto wait_ms = static_cast<std::int64_t>(jitter(impl_->rng));
    curl_off_t retry_after_s = 0;
    if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after_s) == CURLE_OK &&
        retry_after_s > 0) {
      wait_ms = std::max<std::int64_t>(wait_ms, static_cast<std::int64_t>(retry_after_s) * 1000);
    }
    wait_ms = std::min(wait_ms, opt.backoff_max_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    waited_ms = wait_ms;
  }
  std::string_view hint;
  switch (last_kind) {
    case Failure::kConnect:
      hint = "is the CS API running? check CS_FEATURES_URL or --url";
      break;
    case Failure::kTimeout:
      hint = "the CS API did not answer in time; check its health or raise --timeout-ms";
      break;
    case Failure::kThrottled:
      hint = "the CS API is rate limiting this client; try again later";
      break;
    case Failure::kServer:
      hint = "the CS API is failing; try again later";
      break;
    case Failure::kTruncated:
      hint = "the response ended early; the CS API or a proxy in between is failing";
      break;
  }
  return MakeError(
      last_kind == Failure::kTimeout ? ErrorCode::kTimeout : ErrorCode::kUnavailable,
      fmt::format("{}: {} (gave up after {} attempt{}); {}", shown_url, last_failure,
                  result.attempts.size(), result.attempts.size() == 1 ? "" : "s", hint));
}

}  // namespace csml::cs_client
