// Differential test of ReplacePatternWithFilters' two implementations: for
// rewrites the streamed in-place path accepts (replace_in_place.h), it and
// the general path (replace_general.h) run on copies of the same random
// graph and must agree on the rewritten graph, every ReplaceResult field,
// the matches the filters saw (in order) and, on error, the status and an
// untouched graph. The graphs are seeded chains and DAGs of dropout, batch
// norm, relu and add with random train flags and literals, several uses,
// getitem on tuple-valued ops and random outputs; the options include the
// train/eval switch's (ignore_literals, preserve_literals, preserve_except,
// no node maps, filters that reject some matches).
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "ir/graph.h"
#include "ir/text_format.h"
#include "ir/verifier.h"
#include "rewrite/dialect.h"
#include "rewrite/pattern_tracer.h"
#include "rewrite/replace_common.h"
#include "rewrite/replace_general.h"
#include "rewrite/replace_in_place.h"
#include "rewrite/replace_pattern.h"

namespace rewire {
namespace {

using replace_internal::PreparedRewrite;

// std::mt19937's output sequence is fixed by the standard (its
// distributions are not), so graphs are the same on every platform.
class Rng {
 public:
  explicit Rng(uint32_t seed) : engine_(seed) {}
  int Below(int n) { return static_cast<int>(engine_() % n); }
  bool Percent(int p) { return Below(100) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(static_cast<int>(v.size()))];
  }
  template <typename T, size_t N>
  const T& Pick(const T (&a)[N]) {
    return a[Below(static_cast<int>(N))];
  }

 private:
  std::mt19937 engine_;
};

constexpr const char* kPs[] = {"0.1", "0.5", "0.25"};
constexpr const char* kMomenta[] = {"0.1", "0.03"};
constexpr char kVal[] = " : f32[2, 4]";
constexpr char kParamVal[] = " : f32[4]";

// A random graph in text form. Values feed later nodes mostly as a chain,
// otherwise from anywhere before (several uses, DAGs). Each random draw is
// its own statement: the order of evaluation of function arguments is
// unspecified, and the graphs must not depend on the compiler.
class GraphGenerator {
 public:
  explicit GraphGenerator(uint32_t seed) : rng_(seed) {}

  std::string Generate() {
    Placeholders();
    const int ops = 2 + rng_.Below(9);
    for (int i = 0; i < ops; ++i) {
      const std::string name = absl::StrCat("%n", i);
      switch (rng_.Below(7)) {
        case 0:
        case 1:
          Dropout(name, i);
          break;
        case 2:
          BatchNorm(name, i);
          break;
        case 3:
          NativeBatchNorm(name, i);
          break;
        case 4:
          Relu(name, i);
          break;
        default:
          Add(name, i);
          break;
      }
    }
    Outputs();
    return absl::StrJoin(lines_, "\n") + "\n";
  }

 private:
  void Placeholders() {
    lines_.push_back(absl::StrCat("%x", kVal, " = placeholder"));
    lines_.push_back(absl::StrCat("%y", kVal, " = placeholder"));
    lines_.push_back("%flag = placeholder");
    tensors_ = {"%x", "%y"};
    param_sets_ = rng_.Percent(75) ? 1 : 2;
    for (int s = 0; s < param_sets_; ++s) {
      for (const char* p : {"w", "b", "rm", "rv"}) {
        lines_.push_back(absl::StrCat("%", p, s, kParamVal, " = placeholder"));
      }
    }
  }

  // The train flag sometimes as a keyword.
  void Dropout(const std::string& name, int i) {
    const std::string in = Input();
    const std::string p = rng_.Pick(kPs);
    const std::string train = rng_.Percent(20) ? "train=" + Flag() : Flag();
    Emit(name, kVal,
         absl::StrCat("aten.dropout.default(", in, ", ", p, ", ", train, ")"),
         i);
  }

  // eps sometimes by keyword, and then cudnn_enabled too.
  void BatchNorm(const std::string& name, int i) {
    const std::string args = BatchNormArgs();
    const std::string momentum = rng_.Pick(kMomenta);
    const bool keywords = rng_.Percent(30);
    const std::string eps = keywords ? "eps=0.001" : "1e-05";
    const std::string cudnn = absl::StrCat(keywords ? "cudnn_enabled=" : "",
                                           rng_.Percent(50) ? "True" : "False");
    Emit(name, kVal,
         absl::StrCat("aten.batch_norm.default(", args, ", ", momentum, ", ",
                      eps, ", ", cudnn, ")"),
         i);
  }

  // A tuple, read through getitem.
  void NativeBatchNorm(const std::string& name, int i) {
    const std::string args = BatchNormArgs();
    Emit(name, "",
         absl::StrCat("aten.native_batch_norm.default(", args,
                      ", 0.1, 1e-05)"),
         i, /*is_tensor=*/false);
    lines_.push_back(
        absl::StrCat(name, "_0", kVal, " = getitem(", name, ", 0)"));
    tensors_.push_back(name + "_0");
    if (rng_.Percent(30)) {
      lines_.push_back(
          absl::StrCat(name, "_1", kParamVal, " = getitem(", name, ", 1)"));
    }
  }

  void Relu(const std::string& name, int i) {
    const std::string in = Input();
    Emit(name, kVal, absl::StrCat("aten.relu.default(", in, ")"), i);
  }

  void Add(const std::string& name, int i) {
    const std::string a = Input();
    const std::string b = rng_.Pick(tensors_);
    const std::string alpha = rng_.Percent(20) ? ", alpha=2" : "";
    Emit(name, kVal, absl::StrCat("aten.add.Tensor(", a, ", ", b, alpha, ")"),
         i);
  }

  void Outputs() {
    std::vector<std::string> outputs = {tensors_.back()};
    for (size_t i = 2; i + 1 < tensors_.size(); ++i) {
      if (rng_.Percent(20)) outputs.push_back(tensors_[i]);
    }
    lines_.push_back(
        absl::StrCat("return (", absl::StrJoin(outputs, ", "), ",)"));
  }

  // One node line, sometimes with a stack trace.
  void Emit(const std::string& name, absl::string_view val,
            const std::string& call, int i, bool is_tensor = true) {
    const std::string meta =
        rng_.Percent(30) ? absl::StrCat(" {stack_trace=\"m.py:", i, "\"}")
                         : "";
    lines_.push_back(absl::StrCat(name, val, " = ", call, meta));
    if (is_tensor) tensors_.push_back(name);
  }

  std::string Input() {
    return rng_.Percent(60) ? tensors_.back() : rng_.Pick(tensors_);
  }
  std::string Param(const char* p) {
    if (rng_.Percent(15)) return "None";
    return absl::StrCat("%", p, rng_.Below(param_sets_));
  }
  // Mostly bool literals, sometimes a node (a flag fed in as an input),
  // which only ignore_literals or a pattern placeholder matches.
  std::string Flag() {
    if (rng_.Percent(8)) return "%flag";
    return rng_.Percent(60) ? "True" : "False";
  }
  // Input, weight, bias, running stats and the training flag.
  std::string BatchNormArgs() {
    std::vector<std::string> parts = {Input()};
    for (const char* p : {"w", "b", "rm", "rv"}) parts.push_back(Param(p));
    parts.push_back(Flag());
    return absl::StrJoin(parts, ", ");
  }

  Rng rng_;
  int param_sets_ = 1;
  std::vector<std::string> lines_;
  std::vector<std::string> tensors_;
};

std::unique_ptr<Graph> Parse(const std::string& text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status() << "\n" << text;
  return g.ok() ? std::move(*g) : std::make_unique<Graph>();
}

// A rewrite the in-place stream is eligible for.
struct Case {
  std::string name;
  std::unique_ptr<Graph> pattern;
  std::unique_ptr<Graph> replacement;
  std::vector<LiteralBinding> bindings;
  std::string anchor;  // the target of the pattern's one compute node
};

std::unique_ptr<Graph> Traced(bool dropout, bool train) {
  PatternTracer t(Dialect::kTrainingIr);
  TensorMeta m = TensorMeta::Make(ScalarType::kFloat32, {2, 4});
  TensorMeta c = TensorMeta::Make(ScalarType::kFloat32, {4});
  TracedTensor x = t.Input("x", m);
  TracedTensor out;
  if (dropout) {
    out = functional::Dropout(t, x, 0.5, train);
  } else {
    TracedTensor w = t.Input("w", c), b = t.Input("b", c);
    TracedTensor rm = t.Input("rm", c), rv = t.Input("rv", c);
    out = functional::BatchNorm(t, x, rm, rv, w, b, train);
  }
  absl::StatusOr<std::unique_ptr<Graph>> g = t.Finish({out});
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : std::make_unique<Graph>();
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  auto add = [&](std::string name, const std::string& pattern,
                 const std::string& replacement,
                 std::vector<LiteralBinding> bindings = {}) {
    cases.push_back(Case{std::move(name), Parse(pattern), Parse(replacement),
                         std::move(bindings), ""});
  };
  const std::string x = "%x = placeholder\n";
  const std::string bn_in =
      "%x = placeholder\n%w = placeholder\n%b = placeholder\n"
      "%rm = placeholder\n%rv = placeholder\n";
  add("dropout flag", x + "%d = aten.dropout.default(%x, 0.5, True)\nreturn (%d,)",
      x + "%d = aten.dropout.default(%x, 0.5, False)\nreturn (%d,)");
  add("dropout literals bound by placeholders",
      x + "%p = placeholder\n%t = placeholder\n"
          "%d = aten.dropout.default(%x, %p, %t)\nreturn (%d,)",
      x + "%p = placeholder\n%d = aten.dropout.default(%x, %p, False)\n"
          "return (%d,)");
  add("batch_norm flag",
      bn_in + "%n = aten.batch_norm.default(%x, %w, %b, %rm, %rv, True, 0.1, "
              "1e-05, True)\nreturn (%n,)",
      bn_in + "%n = aten.batch_norm.default(%x, %w, %b, %rm, %rv, False, 0.1, "
              "1e-05, True)\nreturn (%n,)");
  add("native_batch_norm returning its tuple",
      bn_in + "%n = aten.native_batch_norm.default(%x, %w, %b, %rm, %rv, True, "
              "0.1, 1e-05)\nreturn (%n,)",
      bn_in + "%n = aten.native_batch_norm.default(%x, %w, %b, %rm, %rv, "
              "False, 0.1, 1e-05)\nreturn (%n,)");
  const std::string xy = "%x = placeholder\n%y = placeholder\n";
  add("add operands swapped", xy + "%a = aten.add.Tensor(%x, %y)\nreturn (%a,)",
      xy + "%a = aten.add.Tensor(%y, %x)\nreturn (%a,)");
  add("add gains a keyword", xy + "%a = aten.add.Tensor(%x, %y)\nreturn (%a,)",
      xy + "%a = aten.add.Tensor(%x, %y, alpha=3)\nreturn (%a,)");
  add("relu by itself", x + "%r = aten.relu.default(%x)\nreturn (%r,)",
      x + "%r = aten.relu.default(%x)\nreturn (%r,)");
  add("dropout with a literal binding",
      x + "%d = aten.dropout.default(%x, 0.5, True)\nreturn (%d,)",
      x + "%e = aten.dropout.default(%x, 0.9, False)\nreturn (%e,)",
      {LiteralBinding{"e", "p", "d", "p"}});
  add("dropout with a binding to no pattern literal",
      x + "%d = aten.dropout.default(%x, 0.5, True)\nreturn (%d,)",
      x + "%e = aten.dropout.default(%x, 0.9, False)\nreturn (%e,)",
      {LiteralBinding{"e", "p", "d", "no_such_arg"}});
  cases.push_back(
      Case{"traced dropout", Traced(true, true), Traced(true, false), {}, ""});
  cases.push_back(
      Case{"traced batch_norm", Traced(false, true), Traced(false, false), {},
           ""});
  for (Case& c : cases) {
    for (const Node* n : *c.pattern) {
      if (n->is_call()) c.anchor = n->target().qualified;
    }
  }
  return cases;
}

// What the filters saw, so that both paths can be held to the same calls.
struct FilterLog {
  std::vector<std::string> calls;
  int64_t count = 0;
};

const Argument* FlagLiteral(const InternalMatch& m) {
  for (const MatchedLiteral& lit : m.literals) {
    if (lit.arg_name == "training" || lit.arg_name == "train") {
      return &lit.graph_value;
    }
  }
  return nullptr;
}

constexpr int kOptionSets = 8;
constexpr int kSwitchOptions = 4;

// Option set `set` for one run; the filters log into `log`.
ReplaceOptions Options(int set, const std::vector<LiteralBinding>& bindings,
                       FilterLog* log) {
  ReplaceOptions o;
  o.literal_bindings = bindings;
  auto logging = [log](const InternalMatch& m, const Graph&, const Graph&) {
    log->calls.push_back(m.GraphAnchor()->name());
    return true;
  };
  // The train/eval switch's flag filter: a bool flag in training form.
  auto flag_is_train = [](const InternalMatch& m, const Graph&,
                          const Graph&) {
    const Argument* flag = FlagLiteral(m);
    return flag == nullptr ||
           (flag->kind() == Argument::Kind::kBool && flag->as_bool());
  };
  // Rejects some matches by position and by what the site's node holds.
  auto some = [log](const InternalMatch& m, const Graph&, const Graph&) {
    if (++log->count % 3 == 0) return false;
    return !m.GraphAnchor()->meta().Contains("stack_trace");
  };
  switch (set) {
    case 0:
      break;
    case 1:
      o.ignore_literals = true;
      break;
    case 2:
      o.ignore_literals = true;
      o.preserve_literals = true;
      break;
    case 3:
      o.preserve_literals = true;
      o.record_node_maps = false;
      break;
    case kSwitchOptions:  // what rewrite/train_eval.cc passes
    case 5:
      o.ignore_literals = true;
      o.preserve_literals = true;
      o.preserve_except = {"training", "train"};
      o.record_node_maps = false;
      o.filters.push_back(flag_is_train);
      if (set == 5) o.filters.push_back(some);
      break;
    case 6:
      o.preserve_literals = true;
      o.preserve_except = {"p", "momentum"};
      o.filters.push_back(some);
      break;
    case 7:  // a search bound that some graphs hit
      o.ignore_literals = true;
      o.preserve_literals = true;
      o.max_steps = 2;
      break;
  }
  o.filters.insert(o.filters.begin(), logging);
  return o;
}

// Everything a run produced, as text, so a difference reads as a diff.
std::string Outcome(const absl::StatusOr<ReplaceResult>& r,
                    const std::string& printed, const FilterLog& log) {
  if (!r.ok()) {
    // The paths stop at different points on error; only the status and the
    // graph (unchanged, checked by the caller) must agree.
    return absl::StrCat("error ", r.status().ToString(), "\n", printed);
  }
  std::string s = absl::StrCat("replaced ", r->replaced.size(), "\n");
  for (const ReplacedPattern& p : r->replaced) {
    absl::StrAppend(&s, "  at ", p.anchor, " map {");
    for (const auto& [pattern_node, bound] : p.nodes_map) {
      absl::StrAppend(&s, pattern_node, "=", bound, " ");
    }
    absl::StrAppend(&s, "} new [");
    for (const Node* n : p.replacements) absl::StrAppend(&s, n->name(), " ");
    absl::StrAppend(&s, "]\n");
  }
  for (const SkippedMatch& m : r->skipped) {
    absl::StrAppend(&s, "skipped ", m.anchor, ": ", m.reason, "\n");
  }
  absl::StrAppend(&s, "rejected ", r->rejected_by_filters, " limit ",
                  r->limit_reached, "\nfilter calls ",
                  absl::StrJoin(log.calls, " "), "\n", printed);
  return s;
}

// Coverage of one test, so that a generator that stops producing the
// interesting situations fails instead of passing vacuously.
struct Coverage {
  int64_t runs = 0;
  int64_t replaced = 0;
  int64_t rejected = 0;
  int64_t errors = 0;
  int64_t limits = 0;
  int64_t changed = 0;  // runs whose graph text changed
};

enum class Path { kStream, kGeneral, kPublic };

absl::StatusOr<ReplaceResult> RunPath(Path path, Graph& g, const Case& c,
                                      const PreparedRewrite& prep,
                                      const ReplaceOptions& o) {
  switch (path) {
    case Path::kStream:
      return replace_internal::RunInPlaceStream(g, prep, o);
    case Path::kGeneral:
      return replace_internal::RunGeneral(g, prep, nullptr, o);
    case Path::kPublic:
      return ReplacePatternWithFilters(g, *c.pattern, *c.replacement, o);
  }
  return absl::InternalError("unreachable");
}

// Runs `c` with option set `set` on copies of `original` along the stream,
// the general path and (when `via_public`) the public entry point, and
// compares the outcomes with the stream's.
void Compare(const Graph& original, const std::string& original_text,
             const Case& c, const PreparedRewrite& prep, int set,
             bool via_public, Coverage* coverage) {
  std::string outcomes[3];
  for (Path path : {Path::kStream, Path::kGeneral, Path::kPublic}) {
    if (path == Path::kPublic && !via_public) break;
    std::unique_ptr<Graph> g = original.Clone();
    FilterLog log;
    ReplaceOptions o = Options(set, c.bindings, &log);
    absl::StatusOr<ReplaceResult> r = RunPath(path, *g, c, prep, o);
    const std::string printed = PrintGraph(*g);
    outcomes[static_cast<int>(path)] = Outcome(r, printed, log);
    if (!r.ok()) {
      EXPECT_EQ(printed, original_text) << "a failed rewrite changed the graph";
    }
    if (path != Path::kStream) continue;
    // The other paths must print the same graph, so one check covers all.
    ASSERT_TRUE(Verify(*g).ok()) << Verify(*g);
    ++coverage->runs;
    if (!r.ok()) {
      ++coverage->errors;
      continue;
    }
    coverage->replaced += static_cast<int64_t>(r->replaced.size());
    coverage->rejected += r->rejected_by_filters;
    coverage->limits += r->limit_reached ? 1 : 0;
    coverage->changed += printed != original_text ? 1 : 0;
  }
  EXPECT_EQ(outcomes[0], outcomes[1])
      << c.name << ", options " << set << ": stream (left) and general path "
      << "(right) differ on\n" << original_text;
  if (via_public) {
    EXPECT_EQ(outcomes[0], outcomes[2])
        << c.name << ", options " << set << ": the public entry point "
        << "differs from the stream on\n" << original_text;
  }
}

TEST(ReplacePatternDifferentialTest, StreamAndGeneralPathAgreeOnRandomGraphs) {
  const std::vector<Case> cases = Cases();
  // One preparation per case and option set: it depends on the pattern,
  // the replacement and the matcher options only.
  std::vector<std::vector<PreparedRewrite>> preps(cases.size());
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    for (int set = 0; set < kOptionSets; ++set) {
      FilterLog unused;
      absl::StatusOr<PreparedRewrite> prep = replace_internal::Prepare(
          *cases[ci].pattern, cases[ci].replacement.get(),
          Options(set, cases[ci].bindings, &unused));
      ASSERT_TRUE(prep.ok()) << cases[ci].name << ": " << prep.status();
      ASSERT_TRUE(replace_internal::StreamEligible(*prep)) << cases[ci].name;
      preps[ci].push_back(std::move(*prep));
    }
  }
  Coverage coverage;
  // Each graph meets kCasesPerGraph cases, rotating, the first under the
  // switch's options and the others under a rotating option set, so every
  // combination meets dozens of graphs. (Copying a graph costs more than
  // rewriting it, which bounds how many runs fit in the time.)
  constexpr uint32_t kGraphs = 300;
  constexpr uint32_t kCasesPerGraph = 3;
  for (uint32_t seed = 0; seed < kGraphs; ++seed) {
    const std::string text = GraphGenerator(seed).Generate();
    std::unique_ptr<Graph> original = Parse(text);
    ASSERT_TRUE(Verify(*original).ok()) << Verify(*original) << "\n" << text;
    const std::string original_text = PrintGraph(*original);
    uint32_t k = 0;
    for (size_t step = 0; step < cases.size() && k < kCasesPerGraph; ++step) {
      const size_t ci = (seed * kCasesPerGraph + step) % cases.size();
      // A graph without the pattern's op says nothing about either path.
      if (original->CountTarget(cases[ci].anchor) == 0) continue;
      const int set = k == 0 ? kSwitchOptions
                             : static_cast<int>((seed / 2 + k) % kOptionSets);
      ++k;
      Compare(*original, original_text, cases[ci], preps[ci][set], set,
              /*via_public=*/seed % 8 == 0, &coverage);
      if (::testing::Test::HasFailure()) {
        FAIL() << "seed " << seed << ", case " << cases[ci].name;
      }
    }
  }
  EXPECT_GT(coverage.replaced, 600);
  EXPECT_GT(coverage.rejected, 100);
  EXPECT_GT(coverage.errors, 10);
  EXPECT_GT(coverage.limits, 5);
  EXPECT_GT(coverage.changed, 200);
  EXPECT_LT(coverage.errors, coverage.runs / 4);
}

}  // namespace
}  // namespace rewire
