// Private to the model module: a structural check of XGBoost JSON before XGBoost sees it.
//
// XGBoost trusts a model's tree arrays: a child index out of range or a repeated tree id in
// otherwise valid JSON makes prediction read out of bounds and crash the process. csml loads
// models from files, so it checks what XGBoost would dereference: one gbtree booster with
// a single output, tree ids 0..n-1, per-tree arrays of num_nodes entries, children that form
// a tree inside those arrays, numerical splits only, split features below num_feature.
#pragma once

#include <string_view>

#include "csml/core/error.h"

namespace csml::model_detail {

// Error{kParse} for text that is not JSON, Error{kModel} naming the first broken part
// ("trees[2].left_children[5]: expected -1 or a node index in [1, 7), got 40").
Status CheckXgboostModelJson(std::string_view model_json);

}  // namespace csml::model_detail
