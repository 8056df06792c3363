// Files for tests: whole-file reads and writes, and a temporary directory removed with
// everything in it.
#pragma once

#include <string>

namespace csml::testing {

// The bytes of a file ("" when it cannot be read), and a file replaced by `text`.
std::string ReadWholeFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace csml::testing
