// libFuzzer target: POST /score body decoding. Any input must decode without a crash, a leak
// or undefined behaviour, and the simdjson fast path must give exactly what the CPython-
// faithful reference path gives (the contract in csml/serving/score_request.h); a difference
// aborts, so the fuzzer reports it with the input.
//
// Run with: scripts/fuzz.sh score_request_fuzzer (see fuzz/CMakeLists.txt).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "csml/serving/score_request.h"

namespace {

// Everything a decode produced, as text: equal text, equal result.
std::string Describe(const csml::ScoreRequestResult& result) {
  if (!result) {
    std::string body;
    csml::AppendScoreRequestErrorJson(&body, result.error());
    return fmt::format("error {} {}", static_cast<int>(result.error().kind), body);
  }
  std::string text = fmt::format("ok {}|{}|{}", result->user_id, result->unknown_feature_keys,
                                 static_cast<int>(result->features.region));
  for (const double v : result->features.numeric) {
    std::uint64_t bits = 0;
    const double canonical = std::isnan(v) ? std::nan("") : v;
    std::memcpy(&bits, &canonical, sizeof(bits));
    text += fmt::format("|{:x}", bits);
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const csml::BodyFormat format : {csml::BodyFormat::kJson, csml::BodyFormat::kNotJson}) {
    const std::string fast = Describe(csml::DecodeScoreRequest(body, format));
    const std::string reference = Describe(csml::DecodeScoreRequestReference(body, format));
    if (fast != reference) {
      std::fprintf(stderr, "fast and reference paths disagree:\n fast:      %s\n reference: %s\n",
                   fast.c_str(), reference.c_str());
      std::abort();
    }
  }
  return 0;
}
