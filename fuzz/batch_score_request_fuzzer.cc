// libFuzzer target: POST /score/batch body decoding. Any input must decode without a crash,
// a leak or undefined behaviour; the item limit must hold; and every item of a decoded batch
// must carry the errors of its own index.
//
// Run with: scripts/fuzz.sh batch_score_request_fuzzer (see fuzz/CMakeLists.txt).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "csml/serving/score_request.h"

namespace {

constexpr std::size_t kMaxItems = 64;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "batch decoding broke its contract: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const csml::BatchScoreRequestResult batch =
      csml::DecodeBatchScoreRequest(body, csml::BodyFormat::kJson, kMaxItems);
  std::string out;
  if (!batch) {
    csml::AppendScoreRequestErrorJson(&out, batch.error());
    if (batch.error().kind == csml::ScoreRequestError::Kind::kInvalid &&
        batch.error().errors.empty()) {
      Fail("a refused batch without an error");
    }
    return 0;
  }
  if (batch->items.size() > kMaxItems) Fail("more items than the limit");
  for (std::size_t i = 0; i < batch->items.size(); ++i) {
    const csml::ScoreRequestResult& item = batch->items[i];
    if (item) continue;
    if (item.error().errors.empty()) Fail("a refused item without an error");
    for (const csml::ValidationError& e : item.error().errors) {
      const auto* index = e.loc.size() >= 3 ? std::get_if<std::int64_t>(&e.loc[2]) : nullptr;
      if (index == nullptr || *index != static_cast<std::int64_t>(i)) {
        Fail("an item error not located under its own index");
      }
    }
    out.clear();
    csml::AppendScoreRequestErrorJson(&out, item.error());
  }
  return 0;
}
