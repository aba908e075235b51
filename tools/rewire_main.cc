// Entry point of the `rewire` program; everything lives in tools/cli.cc so
// tests and embedders can run the same code with captured streams.
#include <iostream>
#include <string>
#include <vector>

#include "tools/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const int rc = rewire::tools::RunCli(args, std::cout, std::cerr);
  std::cout.flush();
  return rc;
}
