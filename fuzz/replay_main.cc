// main() for a fuzz target built without libFuzzer: runs
// LLVMFuzzerTestOneInput on every file of the corpus directories named on the
// command line, so that `bazel test //...` replays each target's saved seeds
// and regression inputs in the ordinary build. A crash or a FUZZ_CHECK
// failure fails the test; so does a directory with no input, which would
// otherwise pass by testing nothing.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(argv[i], ec)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    if (ec || files.empty()) {
      std::fprintf(stderr, "%s: no inputs to replay%s%s\n", argv[i],
                   ec ? ": " : "", ec ? ec.message().c_str() : "");
      return 1;
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      absl::StatusOr<std::string> read = rewire::ReadFileToString(f.string());
      if (!read.ok()) {
        std::fprintf(stderr, "%s\n",
                     std::string(read.status().message()).c_str());
        return 1;
      }
      const std::string& bytes = *read;
      std::fprintf(stderr, "replaying %s (%zu bytes)\n", f.c_str(), bytes.size());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                             bytes.size());
    }
    std::fprintf(stderr, "%s: %zu inputs replayed\n", argv[i], files.size());
  }
  return 0;
}
