// A publisher to be killed: trains one small model, prints "ready", then publishes and
// promotes versions of it into the registry given as argv[1] without end, alternating
// validation AUCs so the gate promotes some and pins the served version for others, and
// rolling back now and then. publish_interrupt_test.cc kills it with SIGKILL at random
// moments and checks what it leaves behind.
#include <cstdio>

#include "csml/registry/registry.h"
#include "csml/training/promotion.h"
#include "csml/training/trainer.h"
#include "synthetic_data.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s REGISTRY_DIR\n", argv[0]);
    return 2;
  }
  auto registry = csml::Registry::Open(argv[1], csml::RegistryOpenMode::kCreateIfMissing);
  if (!registry) {
    std::fprintf(stderr, "%s\n", registry.error().message.c_str());
    return 1;
  }
  csml::testing::SyntheticOptions data;
  data.customers = 50;
  csml::TrainOptions options;
  options.booster.threads = 1;
  options.booster.eta = 0.3;
  options.max_rounds = 5;
  options.early_stopping_rounds = 5;
  auto trained = csml::TrainModel(csml::testing::MakeDataset(data), options);
  if (!trained) {
    std::fprintf(stderr, "%s\n", trained.error().message.c_str());
    return 1;
  }
  // Start past any version a previous child left, so names never run out within a minute.
  auto existing = registry->List();
  const csml::UnixSeconds base =
      (existing && !existing->empty() ? existing->back().created_at : csml::testing::kTestAsOf) +
      60;
  std::puts("ready");
  std::fflush(stdout);
  for (long i = 0;; ++i) {
    csml::ModelMeta draft = trained->meta;
    draft.created_at = base + i * 60;
    draft.validation_metrics["auc"] = i % 3 == 2 ? 0.5 : 0.8;
    auto outcome = csml::PublishAndPromote(*registry, trained->model_json, draft, {});
    if (!outcome) {
      std::fprintf(stderr, "publish %ld: %s\n", i, outcome.error().message.c_str());
      return 1;
    }
    if (i % 5 == 4) (void)registry->Rollback();  // may have nothing to roll back to
  }
}
