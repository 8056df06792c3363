#include "csml/serving/model_manager.h"

namespace csml {

Status ModelManager::Load(const Loader& loader) {
  Result<std::shared_ptr<const ServingModel>> loaded = loader();
  if (!loaded) return tl::unexpected(std::move(loaded).error());
  if (*loaded == nullptr) {
    return MakeError(ErrorCode::kInternal, "model loader returned no model and no error");
  }
  Swap(std::move(*loaded));
  return {};
}

}  // namespace csml
