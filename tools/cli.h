// The `rewire` command-line program as a library: RunCli parses the command
// line, runs one subcommand and returns the process exit status, writing to
// the given streams instead of std::cout/std::cerr so tests and embedders can
// capture everything.
//
// Conventions every subcommand follows (README.md documents them for users):
//  - exit 0 on success, 1 when the work failed (unreadable or invalid model,
//    failed validation, kernel error...), 2 for a usage error (unknown
//    subcommand or flag, missing or malformed argument, unsupported output
//    extension), detected before any file is written;
//  - each failure is one line on stderr starting "error: " that names the
//    file, node or tensor at fault;
//  - `rewire CMD --help` prints that subcommand's usage to stdout, exit 0;
//  - every output file is written atomically (temp file + rename), so a
//    failed run leaves an existing file as it was.
#ifndef REWIRE_TOOLS_CLI_H_
#define REWIRE_TOOLS_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace rewire {
namespace tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// `args` excludes the program name: {"info", "model.pb"}.
int RunCli(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err);

}  // namespace tools
}  // namespace rewire

#endif  // REWIRE_TOOLS_CLI_H_
