// Entry point of the `rewire` program; everything lives in tools/cli.cc so
// tests and embedders can run the same code with captured streams.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "tools/cli.h"

int main(int argc, char** argv) {
  // `bazel run //tools:rewire -- info model.pb` starts in the runfiles tree;
  // resolve relative paths against the directory the user ran Bazel from.
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY"); dir != nullptr) {
    if (chdir(dir) != 0) {
      std::cerr << "error: cannot enter BUILD_WORKING_DIRECTORY '" << dir
                << "'\n";
      return rewire::tools::kExitFailure;
    }
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  const int rc = rewire::tools::RunCli(args, std::cout, std::cerr);
  std::cout.flush();
  return rc;
}
