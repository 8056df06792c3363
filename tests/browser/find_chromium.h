// Where the browser tests find headless Chromium.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace csml::integration {

// CSML_CHROMIUM, else `chromium` or `chromium-browser` on PATH; "" when none.
inline std::string FindChromium() {
  if (const char* env = std::getenv("CSML_CHROMIUM"); env != nullptr && *env != '\0') return env;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::filesystem::path dir = dirs.substr(start, end - start);
    for (const char* name : {"chromium", "chromium-browser"}) {
      std::error_code ec;
      if (!dir.empty() && std::filesystem::is_regular_file(dir / name, ec)) {
        return (dir / name).string();
      }
    }
    start = end + 1;
  }
  return "";
}

}  // namespace csml::integration
