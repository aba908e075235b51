// What the subcommands of `rewire` share (tools/cli.cc, tools/cli_demo.cc):
// the per-subcommand flag parser, the Cli object every subcommand reports
// through (one "error:" line, the exit codes of tools/cli.h), and the input
// tensors `run`, `validate` and `demo` build. Private to //tools:cli.
#ifndef REWIRE_TOOLS_CLI_SUPPORT_H_
#define REWIRE_TOOLS_CLI_SUPPORT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ir/exported_module.h"
#include "ir/graph.h"
#include "kernels/executor.h"
#include "kernels/tensor.h"
#include "tools/cli.h"

namespace rewire {
namespace tools {

struct FlagSpec {
  const char* name;  // "-o", "--seed"
  bool takes_value;
};

struct ParsedArgs {
  std::map<std::string, std::vector<std::string>> values;
  std::set<std::string> present;
  std::vector<std::string> positional;
  bool help = false;

  const std::string* Get(const std::string& flag) const {
    auto it = values.find(flag);
    if (it == values.end() || it->second.empty()) return nullptr;
    return &it->second.back();
  }
};

// `s` on one line: newlines become "; ".
std::string OneLine(absl::string_view s);

class Cli {
 public:
  Cli(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  int Usage(absl::string_view cmd, absl::string_view msg) {
    err_ << "error: " << OneLine(msg) << " (see `rewire "
         << (cmd.empty() ? "" : absl::StrCat(cmd, " ")) << "--help`)\n";
    return kExitUsage;
  }
  int Fail(absl::string_view msg) {
    err_ << "error: " << OneLine(msg) << "\n";
    return kExitFailure;
  }
  // `what` (a file) is prepended unless the message already names it.
  int Fail(absl::string_view what, const absl::Status& s) {
    std::string msg(s.message());
    if (!what.empty() && !absl::StrContains(msg, what)) {
      msg = absl::StrCat(what, ": ", msg);
    }
    return Fail(msg);
  }

  // Parses args[1..] for subcommand `cmd`. Returns kExitOk or kExitUsage.
  int Parse(const std::string& cmd, const std::vector<std::string>& args,
            const std::vector<FlagSpec>& specs, ParsedArgs* parsed);

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

 private:
  std::ostream& out_;
  std::ostream& err_;
};

bool ParseU64(const std::string& s, uint64_t* v);

// --max-memory and --max-node-work into `options`; kExitOk or a usage error.
int ParseLimitFlags(Cli& cli, const char* cmd, const ParsedArgs& a,
                    ExecuteOptions* options);

// The note printed after writing the readable text form (a printf format
// taking the path).
inline constexpr char kGraphOnlyNote[] =
    "note: %s holds the graph only (readable text form): weights, buffers "
    "and mode are not saved; use .pb or .pbtxt to keep them\n";

absl::string_view ModeName(ModuleMode m);
std::string ShapeOf(const TensorMeta& m);
// "512 B", "1.5 KiB", "2.0 MiB", "1.25 GiB".
std::string HumanBytes(int64_t b);
std::string DeviceName(const std::optional<Device>& d);

// A random value for input placeholder `ph`, shaped and typed by its "val".
absl::StatusOr<Tensor> RandomTensor(const Node& ph, std::mt19937_64& rng);

// The module's inputs: `flags` (NAME=FILE.npy) read and checked against the
// placeholders, the rest drawn at random with `seed`, all within
// `max_total_bytes`. Usage problems (a malformed flag) return
// InvalidArgument with *usage set.
absl::StatusOr<std::vector<std::pair<std::string, Tensor>>> BuildInputs(
    const ExportedModule& module, const std::vector<std::string>& flags,
    uint64_t seed, int64_t max_total_bytes, bool* usage);

// "f32[2, 3] min .. max .. mean ..  [first values]".
std::string Summarize(const Tensor& t);

// "cpu", "cuda" or "cuda:N".
absl::StatusOr<Device> ParseDevice(const std::string& s);

// `rewire demo` (tools/cli_demo.cc).
extern const char kDemoUsage[];
int CmdDemo(Cli& cli, const ParsedArgs& a);

// `rewire rewrite` (tools/cli_rewrite.cc).
extern const char kRewriteUsage[];
int CmdRewrite(Cli& cli, const ParsedArgs& a);

}  // namespace tools
}  // namespace rewire

#endif  // REWIRE_TOOLS_CLI_SUPPORT_H_
