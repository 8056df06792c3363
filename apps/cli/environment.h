// The seed's environment variables, read in one place. Flags override them; each command
// copies the values it needs into its own options struct before parsing flags.
#pragma once

#include <string>

namespace csml::cli {

struct Environment {
  std::string model_dir = "./model_store";  // MODEL_DIR
  std::string cs_features_url =
      "http://localhost:3000/customers/features/public";           // CS_FEATURES_URL
  std::string tenant_id = "e0028c9a-8c4e-4f3b-9d8a-f2e5c7d1b9a4";  // TENANT_ID
  bool tenant_id_set = false;  // TENANT_ID was set (not the default above)
  std::string log_level =
      "info";  // CSML_LOG_LEVEL: trace, debug, info, warn, error, off (else exit 2)
};

// Reads the process environment; unset or empty variables keep the defaults above.
Environment ReadEnvironment();

}  // namespace csml::cli
