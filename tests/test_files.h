// Small file helpers for tests that check what reached the disk: the test's
// scratch directory, a file's bytes and a directory listing (to assert that
// no temporary file was left behind).
#ifndef REWIRE_TESTS_TEST_FILES_H_
#define REWIRE_TESTS_TEST_FILES_H_

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace rewire {
namespace testing_files {

// $TEST_TMPDIR under Bazel, else /tmp.
inline std::string TempDir() {
  const char* d = std::getenv("TEST_TMPDIR");
  return d != nullptr ? d : "/tmp";
}

// The file's bytes, or "" when it cannot be read.
inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The names in `dir` except "." and "..", in readdir order.
inline std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

}  // namespace testing_files
}  // namespace rewire

#endif  // REWIRE_TESTS_TEST_FILES_H_
