// Holds the model a server is scoring with and replaces it atomically.
//
// TF Serving's manager made small: a request calls Current() once and keeps the returned
// shared_ptr for the whole request, so a swap in the middle never mixes two models; the old
// model is destroyed when its last request finishes (or at the swap, if none holds it). A
// failed load never touches the serving model. Current(), Swap() and Load() are safe to call
// from any thread at any time.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "csml/core/error.h"
#include "csml/serving/serving_model.h"

namespace csml {

class ModelManager {
 public:
  using Loader = std::function<Result<std::shared_ptr<const ServingModel>>()>;

  ModelManager() = default;
  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  // The model to score with, or null when none is loaded.
  std::shared_ptr<const ServingModel> Current() const {
    return current_.load(std::memory_order_acquire);
  }

  // Installs `next` (null unloads) and returns the model it replaced.
  std::shared_ptr<const ServingModel> Swap(std::shared_ptr<const ServingModel> next) {
    return current_.exchange(std::move(next), std::memory_order_acq_rel);
  }

  // Runs `loader` and installs its model; on failure returns the error and keeps serving the
  // current model. A loader returning null is a failure too.
  Status Load(const Loader& loader);

 private:
  std::atomic<std::shared_ptr<const ServingModel>> current_;
};

}  // namespace csml
