// Publishing a trained model and deciding whether to serve it (docs/REGISTRY.md).
//
// The gate: a new version is promoted unless its validation AUC is more than
// `max_auc_drop` below the validation AUC recorded by the version served now. The default
// of 0.01 is about one standard error of the AUC on a validation set of the usual size
// (Hanley-McNeil: 0.009 for 8,000 rows at 12% churn), so a smaller gap is noise rather than
// a worse model, and a wider gate would let real regressions through. Each version is compared by
// the AUC it earned on its own out-of-time validation set: scoring the served model on the new
// validation rows instead would flatter it, since a model refit on all rows of its window has
// usually seen some of them.
//
// The decision is recorded in the new version's meta.json (extra.promotion) and printed by
// the CLI; the pointer moves are in SERVING.history. When the new version is not promoted and
// nothing was promoted before, the served version is promoted explicitly, since otherwise
// "newest when nothing was promoted" would serve the version the gate refused.
//
// Plain functions over a Registry (which is safe across threads and processes).
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "csml/core/error.h"
#include "csml/registry/model_meta.h"
#include "csml/registry/registry.h"

namespace csml {

struct PromotionOptions {
  double max_auc_drop = 0.01;  // tolerance, in AUC points, in [0, 1]
  bool force = false;          // promote whatever the gate says (--force)

  [[nodiscard]] Status Validate() const;
};

struct PromotionDecision {
  bool promote = false;
  bool forced = false;         // promoted by force although the gate said no
  std::string reason;          // one sentence for people
  std::string served_version;  // the version served before; empty when there was none
  double served_auc = std::numeric_limits<double>::quiet_NaN();     // its validation AUC
  double candidate_auc = std::numeric_limits<double>::quiet_NaN();  // the new version's
  double max_auc_drop = 0;

  // The decision as a JSON object (meta.json extra.promotion).
  std::string ToJson() const;
};

// The gate alone: the candidate's validation AUC against the served version's meta (null when
// nothing is served).
PromotionDecision DecidePromotion(double candidate_auc, const ModelMeta* served,
                                  const PromotionOptions& options);

struct PublishOutcome {
  ModelMeta meta;  // as published (with its version)
  PromotionDecision decision;
  std::string served_after;  // the version served once this returns
};

// Decides against the registry's served version, records the decision in the draft's
// extra_json (which must be a JSON object), publishes the version and moves the pointer.
// The candidate AUC is draft.validation_metrics["auc"] (NaN when absent: never promoted
// unless forced or nothing is served). A publish error leaves the registry as it was; a
// promote error after a successful publish is returned with the version named.
Result<PublishOutcome> PublishAndPromote(const Registry& registry, std::string_view model_bytes,
                                         ModelMeta draft, const PromotionOptions& options);

}  // namespace csml
