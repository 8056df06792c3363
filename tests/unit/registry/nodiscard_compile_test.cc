// Compiled by CTest, not linked: a Status or Result that a caller drops must not compile.
// Built once as is (it must compile) and once with CSML_DROP_RESULT (it must fail under
// -Werror=unused-result), so the failing build fails for the dropped result and nothing else.
#include <filesystem>

#include "csml/core/error.h"
#include "csml/registry/registry.h"

namespace {

csml::Status PromoteChecked(const csml::Registry& registry) {
#ifdef CSML_DROP_RESULT
  registry.Promote("risk-xgb-2026-01-01-0000");  // dropped: the build must refuse this line
  return {};
#else
  CSML_TRY(registry.Promote("risk-xgb-2026-01-01-0000"));
  return {};
#endif
}

}  // namespace

int main() {
  auto registry =
      csml::Registry::Open(std::filesystem::path("unused"), csml::RegistryOpenMode::kReadOnly);
  if (!registry) return 1;
  return PromoteChecked(*registry) ? 0 : 1;
}
