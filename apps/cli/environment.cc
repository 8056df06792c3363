#include "environment.h"

#include <cstdlib>

namespace csml::cli {
namespace {

void Override(const char* name, std::string* value) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read once at start-up
  if (v != nullptr && *v != '\0') *value = v;
}

}  // namespace

Environment ReadEnvironment() {
  Environment env;
  Override("MODEL_DIR", &env.model_dir);
  Override("CS_FEATURES_URL", &env.cs_features_url);
  Override("TENANT_ID", &env.tenant_id);
  const char* tenant = std::getenv("TENANT_ID");  // NOLINT(concurrency-mt-unsafe): as above
  env.tenant_id_set = tenant != nullptr && *tenant != '\0';
  Override("CSML_LOG_LEVEL", &env.log_level);
  return env;
}

}  // namespace csml::cli
