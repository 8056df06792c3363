// libFuzzer target: meta.json parsing (ModelMeta::FromJson), which the server reads before
// any model bytes. Any input must parse or be refused with an error; a meta that parses must
// write back to JSON that parses to the same text.
//
// Run with: scripts/fuzz.sh model_meta_fuzzer (see fuzz/CMakeLists.txt).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "csml/registry/model_meta.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const csml::Result<csml::ModelMeta> meta = csml::ModelMeta::FromJson(json);
  if (!meta) return 0;
  const std::string written = meta->ToJson();
  const csml::Result<csml::ModelMeta> again = csml::ModelMeta::FromJson(written);
  if (!again || again->ToJson() != written) {
    std::fprintf(stderr, "meta.json does not survive a write and a read:\n%s\n", written.c_str());
    std::abort();
  }
  return 0;
}
