// Train/eval of the constructs upstream leaves alone, on graphs PyTorch made
// (tests/testdata/constructs, python/tools/export_constructs.py): in-place
// dropout, Dropout2d, AlphaDropout, FeatureAlphaDropout, StochasticDepth,
// timm's DropPath, InstanceNorm with running stats, RReLU, batch norm's
// num_batches_tracked and scaled_dot_product_attention's dropout_p, each in
// every form its torch version exports.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/metadata.h"
#include "ir/serialization.h"
#include "ir/text_format.h"
#include "ir/verifier.h"
#include "kernels/executor.h"
#include "rewrite/dialect.h"
#include "rewrite/mode_constructs.h"
#include "rewrite/stash.h"
#include "rewrite/train_eval.h"
#include "tools/npy.h"

namespace rewire {
namespace {

constexpr char kDir[] = "tests/testdata/constructs/";

struct Case {
  std::string construct;  // "dropout_inplace"
  std::string form;       // "make_fx"
  std::string torch;      // "torch1"
  std::string file() const {
    return absl::StrCat(kDir, construct, ".", form, ".", torch, ".pbtxt");
  }
  std::string name() const { return absl::StrCat(construct, ".", form, ".", torch); }
};

// Every exported file; kept in one list so a missing file fails loudly.
std::vector<Case> AllCases() {
  std::vector<Case> out;
  const char* constructs[] = {
      "dropout_inplace",      "dropout2d",         "dropout2d_inplace",
      "alpha_dropout",        "feature_alpha_dropout", "instance_norm_stats",
      "rrelu",                "batch_norm_counter", "batch_norm_chain",
      "stochastic_depth_row",
      "stochastic_depth_batch", "timm_drop_path",   "timm_drop_path_noscale",
      "attention_dropout"};
  for (const char* c : constructs) {
    // No timm and no scaled_dot_product_attention for torch 1.13.
    const bool torch2_only =
        absl::StartsWith(c, "timm") || absl::string_view(c) == "attention_dropout";
    if (!torch2_only) out.push_back({c, "make_fx", "torch1"});
    for (const char* f : {"make_fx", "training_ir", "core_aten"}) {
      out.push_back({c, f, "torch2"});
    }
  }
  return out;
}

ExportedModule Load(const Case& c) {
  absl::StatusOr<ExportedModule> m = LoadModuleFromFile(c.file());
  EXPECT_TRUE(m.ok()) << c.file() << ": " << m.status();
  return m.ok() ? *std::move(m) : ExportedModule();
}

std::string InputName(const ExportedModule& m) {
  std::vector<Node*> in = m.InputPlaceholders();
  return in.size() == 1 ? in[0]->name() : "";
}

float MaxAbsDiff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != ScalarType::kFloat32 ||
      b.dtype() != ScalarType::kFloat32) {
    return INFINITY;
  }
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  }
  return m;
}

TEST(ModeConstructsTest, EveryFormSwitchesToEvalWithNothingRandomLeft) {
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(c.name());
    ExportedModule m = Load(c);
    absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(Verify(m.graph()).ok());
    EXPECT_EQ(m.mode(), ModuleMode::kEval);
    EXPECT_GE(r->total_rewritten(), 1) << r->ToString();
    EXPECT_EQ(r->num_preventing_eval(), 0) << r->ToString();
    for (const char* t : {"aten.bernoulli_.float", "aten.bernoulli.p",
                          "aten.native_dropout.default"}) {
      EXPECT_EQ(m.graph().CountTarget(t), 0u) << t << "\n" << PrintGraph(m.graph());
    }
  }
}

TEST(ModeConstructsTest, EvalGraphComputesWhatEagerEvalComputed) {
  absl::StatusOr<Tensor> x = tools::ReadNpyFile(absl::StrCat(kDir, "input.npy"));
  ASSERT_TRUE(x.ok()) << x.status();
  int ran = 0;
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(c.name());
    ExportedModule m = Load(c);
    ExportedModule original = m.Clone();
    ASSERT_TRUE(MoveExportedModelToEval(m).ok());
    absl::StatusOr<Tensor> expected = tools::ReadNpyFile(
        absl::StrCat(kDir, c.construct, ".", c.torch, ".eval.npy"));
    ASSERT_TRUE(expected.ok()) << expected.status();
    ExecuteOptions opts;
    opts.seed = 7;
    absl::StatusOr<ExecutionResult> run =
        Execute(m, {{InputName(m), x->Clone().value()}}, opts);
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_FALSE(run->outputs.empty());
    // Outputs come with the buffers core ATen returns; the user output is
    // the one of the input's shape.
    float best = INFINITY;
    for (const NamedTensor& o : run->outputs) {
      if (o.tensor.defined()) best = std::min(best, MaxAbsDiff(o.tensor, *expected));
    }
    EXPECT_LE(best, 1e-5f);
    // Eager eval changes no state: in particular num_batches_tracked stays.
    for (const StateTensor& t : original.tensors()) {
      const StateTensor* now = m.FindTensor(t.name);
      ASSERT_NE(now, nullptr);
      EXPECT_EQ(now->data, t.data) << t.name << " changed in eval";
    }
    ++ran;
  }
  EXPECT_EQ(ran, static_cast<int>(AllCases().size()));
}

TEST(ModeConstructsTest, TrainEvalTrainPrintsAndRunsAsTheOriginal) {
  absl::StatusOr<Tensor> x = tools::ReadNpyFile(absl::StrCat(kDir, "input.npy"));
  ASSERT_TRUE(x.ok());
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(c.name());
    ExportedModule m = Load(c);
    // The switch removes dead code first (as upstream); compare with that.
    m.graph().EliminateDeadCode();
    ExportedModule original = m.Clone();
    const std::string before = PrintGraph(m.graph());
    ASSERT_TRUE(MoveExportedModelToEval(m).ok());
    absl::StatusOr<TrainEvalReport> back = MoveExportedModelToTrain(m);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(PrintGraph(m.graph()), before);
    EXPECT_EQ(StashAnchors(m.graph()).size(), 0u);
    // Same seed, same masks (and rrelu slopes), same state updates.
    ExecuteOptions opts;
    opts.seed = 11;
    absl::StatusOr<ExecutionResult> a =
        Execute(original, {{InputName(original), x->Clone().value()}}, opts);
    absl::StatusOr<ExecutionResult> b =
        Execute(m, {{InputName(m), x->Clone().value()}}, opts);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    ASSERT_EQ(a->outputs.size(), b->outputs.size());
    for (size_t i = 0; i < a->outputs.size(); ++i) {
      EXPECT_EQ(MaxAbsDiff(a->outputs[i].tensor, b->outputs[i].tensor), 0.0f);
    }
    for (const StateTensor& t : original.tensors()) {
      EXPECT_EQ(m.FindTensor(t.name)->data, t.data) << t.name;
    }
  }
}

TEST(ModeConstructsTest, BatchCounterAddsZeroInEvalAndOneAgainInTrain) {
  for (const char* form : {"make_fx", "training_ir", "core_aten"}) {
    Case c{"batch_norm_counter", form, "torch2"};
    SCOPED_TRACE(c.name());
    ExportedModule m = Load(c);
    ASSERT_TRUE(MoveExportedModelToEval(m).ok());
    const char* add = std::string(form) == "core_aten" ? "aten.add.Tensor"
                                                       : "aten.add_.Tensor";
    ASSERT_EQ(m.graph().CountTarget(add), 1u);
    const Node* n = m.graph().NodesWithTarget(add)[0];
    EXPECT_EQ(n->args()[1], Argument::Int(0));
    ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
    EXPECT_EQ(n->args()[1], Argument::Int(1));
  }
}

TEST(ModeConstructsTest, AttentionDropoutIsZeroInEvalAndRestoredInTrain) {
  Case c{"attention_dropout", "training_ir", "torch2"};
  ExportedModule m = Load(c);
  const char* sdpa = "aten.scaled_dot_product_attention.default";
  ASSERT_EQ(m.graph().CountTarget(sdpa), 1u);
  const Node* n = m.graph().NodesWithTarget(sdpa)[0];
  auto p = [&] {
    const Argument& a = n->args().size() > 4 ? n->args()[4] : n->kwargs()[0].value;
    return a.as_double();
  };
  EXPECT_DOUBLE_EQ(p(), 0.3);
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(p(), 0.0);
  EXPECT_EQ(r->num_preventing_eval(), 0) << r->ToString();
  EXPECT_TRUE(absl::StrContains(r->ToString(), "attention_dropout")) << r->ToString();
  ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
  EXPECT_DOUBLE_EQ(p(), 0.3);
  EXPECT_FALSE(n->meta().Contains("rewire_dropout_p"));
}

// A switch of the dropout family only (or a graph whose p is not a literal)
// must not leave an attention dropout silently on.
TEST(ModeConstructsTest, AttentionDropoutLeftOnPreventsEval) {
  Case c{"attention_dropout", "training_ir", "torch2"};
  ExportedModule m = Load(c);
  TrainEvalReport report;
  ReportModeDependentLeft(m, {}, report);
  ASSERT_EQ(report.num_preventing_eval(), 1) << report.ToString();
  EXPECT_TRUE(absl::StrContains(report.ToString(), "dropout_p' is still 0.3"))
      << report.ToString();
}

TEST(ModeConstructsTest, MasksBecomeAnAliasOfTheirInputCarryingTheStash) {
  Case c{"stochastic_depth_row", "make_fx", "torch1"};
  ExportedModule m = Load(c);
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Rewritten("drop_path", *DetectDialect(Load(c).graph()).dialect), 1)
      << r->ToString();
  std::vector<Node*> anchors = StashAnchors(m.graph());
  ASSERT_EQ(anchors.size(), 1u);
  // The alias took the name of the multiplication it stands for, and reads
  // x * 2 (the construct's input).
  EXPECT_EQ(anchors[0]->name(), "mul_1");
  EXPECT_EQ(anchors[0]->args()[0].node()->name(), "mul");
  for (const char* t : {"aten.empty.memory_format", "aten.detach.default",
                        "aten.div_.Tensor"}) {
    EXPECT_EQ(m.graph().CountTarget(t), 0u) << t;
  }
}

// A mask drawn from data (not from a fresh empty tensor) and rescaled by
// something other than 1/keep is no construct rewire knows to be the
// identity in eval.
constexpr char kOddMask[] = R"(
    %x : f32[2, 3] = placeholder[target=x]
    %d : f32[2, 3] = aten.dropout.default(%x, 0.5, True)
    %b : f32[2, 3] = aten.bernoulli.p(%d, 0.5)
    %s : f32[2, 3] = aten.div.Scalar(%b, 0.25)
    %y : f32[2, 3] = aten.mul.Tensor(%d, %s)
    return (%y,)
)";

TEST(ModeConstructsTest, StrictEvalFailsAndLeavesTheModuleUnchanged) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(kOddMask);
  ASSERT_TRUE(g.ok()) << g.status();
  ExportedModule m(*std::move(g));
  const std::string before = PrintGraph(m.graph());
  TrainEvalOptions strict;
  strict.strict = true;
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m, strict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "%b (aten.bernoulli.p)"))
      << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "not a fresh empty tensor"))
      << r.status();
  // The dropout the switch did rewrite is back in training form too.
  EXPECT_EQ(PrintGraph(m.graph()), before);
  EXPECT_EQ(m.mode(), ModuleMode::kTrain);
  // Without strict, the same node is reported.
  r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->num_preventing_eval(), 1) << r->ToString();
  EXPECT_TRUE(absl::StrContains(r->ToString(), "[differs from eager eval]"));
  EXPECT_EQ(m.graph().FindNode("d")->args()[2], Argument::Bool(false));
}

TEST(ModeConstructsTest, StrictEvalPassesWhenEverythingIsSwitched) {
  Case c{"alpha_dropout", "core_aten", "torch2"};
  ExportedModule m = Load(c);
  TrainEvalOptions strict;
  strict.strict = true;
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m, strict);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(m.mode(), ModuleMode::kEval);
}

TEST(ModeConstructsTest, UnrecognizedRandomNodesAreReportedAsDifferingFromEval) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(R"(
    %x : f32[2, 3] = placeholder[target=x]
    %r : f32[2, 3] = aten.rand_like.default(%x)
    %e : f32[2, 3] = aten.empty_like.default(%x)
    %b : f32[2, 3] = aten.bernoulli_.float(%e, 0.5)
    %s : f32[2, 3] = aten.add.Tensor(%b, %r)
    %y : f32[2, 3] = aten.mul.Tensor(%x, %s)
    return (%y,)
  )");
  ASSERT_TRUE(g.ok()) << g.status();
  ExportedModule m(*std::move(g));
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->num_preventing_eval(), 2) << r->ToString();
  EXPECT_TRUE(absl::StrContains(r->ToString(), "%r (aten.rand_like.default)"));
  EXPECT_TRUE(absl::StrContains(r->ToString(), "%b (aten.bernoulli_.float)"));
}

TEST(ModeConstructsTest, DialectDetectionAgreesWithTheExporter) {
  struct Want {
    Case c;
    Dialect d;
  };
  const Want wants[] = {
      {{"batch_norm_counter", "make_fx", "torch1"}, Dialect::kMakeFx},
      {{"batch_norm_counter", "training_ir", "torch2"}, Dialect::kTrainingIr},
      {{"batch_norm_counter", "core_aten", "torch2"}, Dialect::kCoreAten},
      {{"dropout_inplace", "make_fx", "torch2"}, Dialect::kMakeFx},
      {{"dropout_inplace", "core_aten", "torch2"}, Dialect::kCoreAten},
      {{"rrelu", "make_fx", "torch1"}, Dialect::kMakeFx},
      {{"rrelu", "training_ir", "torch2"}, Dialect::kTrainingIr},
      // A training-IR graph whose only tell is bernoulli_ is not make_fx.
      {{"timm_drop_path", "training_ir", "torch2"}, Dialect::kTrainingIr},
  };
  for (const Want& w : wants) {
    SCOPED_TRACE(w.c.name());
    ExportedModule m = Load(w.c);
    DialectDetection d = DetectDialect(m.graph());
    ASSERT_TRUE(d.dialect.has_value()) << d.Summary();
    EXPECT_EQ(*d.dialect, w.d) << d.Summary();
  }
}

// --- Failure atomicity and hostile stashes.

ExportedModule EvalOf(const Case& c) {
  ExportedModule m = Load(c);
  EXPECT_TRUE(MoveExportedModelToEval(m).ok());
  return m;
}

void ExpectTrainFailsUnchanged(ExportedModule& m, absl::string_view needle) {
  const std::string before = PrintGraph(m.graph());
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToTrain(m);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), needle)) << r.status();
  EXPECT_EQ(PrintGraph(m.graph()), before);
  EXPECT_EQ(m.mode(), ModuleMode::kEval);
}

TEST(ModeConstructsTest, BrokenStashesFailTheWayBackAndChangeNothing) {
  const Case c{"alpha_dropout", "make_fx", "torch2"};
  {
    ExportedModule m = EvalOf(c);
    StashAnchors(m.graph())[0]->mutable_meta().Set(kStashKey,
                                                   MetaValue::Int(3));
    ExpectTrainFailsUnchanged(m, "is not a string");
  }
  {
    ExportedModule m = EvalOf(c);
    StashAnchors(m.graph())[0]->mutable_meta().Set(
        kStashKey, MetaValue::String("graph():\n  return ()\n"));
    ExpectTrainFailsUnchanged(m, "does not start with");
  }
  {
    ExportedModule m = EvalOf(c);
    StashAnchors(m.graph())[0]->mutable_meta().Set(
        kStashKey, MetaValue::String("# rewire stash v1\n%a = aten.relu("));
    ExpectTrainFailsUnchanged(m, "unreadable");
  }
  {
    // Reads a node the graph does not have.
    ExportedModule m = EvalOf(c);
    Node* a = StashAnchors(m.graph())[0];
    std::string text = a->meta().Find(kStashKey)->as_string();
    absl::StrReplaceAll({{"%mul", "%nowhere"}, {"target=mul]", "target=nowhere]"}},
                        &text);
    a->mutable_meta().Set(kStashKey, MetaValue::String(text));
    ExpectTrainFailsUnchanged(m, "%nowhere");
  }
  {
    // Restores a name the graph already uses.
    ExportedModule m = EvalOf(c);
    Node* a = StashAnchors(m.graph())[0];
    std::string text = a->meta().Find(kStashKey)->as_string();
    std::vector<std::string> lines = absl::StrSplit(text, '\n');
    // %arg1_1 is the graph's input, which the stash does not read.
    for (std::string& l : lines) {
      absl::StrReplaceAll({{"%bernoulli_ ", "%arg1_1 "}, {"(%bernoulli_", "(%arg1_1"}},
                          &l);
    }
    a->mutable_meta().Set(kStashKey, MetaValue::String(absl::StrJoin(lines, "\n")));
    ExpectTrainFailsUnchanged(m, "restores %arg1_1, a name the graph already has");
  }
}

// The pattern rules' eval forms carry stashes too (core ATen: the batch
// norm's getitem and the dropout's alias).
TEST(ModeConstructsTest, PatternRuleStashesAnchorTheEvalForm) {
  const Case c{"batch_norm_chain", "core_aten", "torch2"};
  ExportedModule m = EvalOf(c);
  std::vector<Node*> anchors = StashAnchors(m.graph());
  ASSERT_EQ(anchors.size(), 3u) << PrintGraph(m.graph());
  EXPECT_EQ(anchors[0]->target().qualified, "getitem");
  EXPECT_EQ(anchors[1]->target().qualified, "aten.alias.default");
  EXPECT_EQ(anchors[2]->target().qualified, "getitem");
  // The second batch norm's copies come back at the end of the graph.
  ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
  EXPECT_EQ(m.graph().output()->prev()->name(), "rewire_copy_b_b_num_batches_tracked");
}

TEST(ModeConstructsTest, BrokenPatternRuleStashesFailOrOnlyLosePlaces) {
  const Case c{"batch_norm_chain", "core_aten", "torch2"};
  {
    // No restored node to hand the anchor's users.
    ExportedModule m = EvalOf(c);
    Node* a = StashAnchors(m.graph())[0];
    std::string text = a->meta().Find(kStashKey)->as_string();
    text = text.substr(0, text.rfind("return")) + "return ()\n";
    a->mutable_meta().Set(kStashKey, MetaValue::String(text));
    ExpectTrainFailsUnchanged(m, "does not return the one restored node");
  }
  {
    // Places naming missing nodes, a cycle, and a move that would put a
    // node after its user: ignored, the graph stays valid.
    ExportedModule m = EvalOf(c);
    Node* a = StashAnchors(m.graph())[0];
    std::string text = a->meta().Find(kStashKey)->as_string();
    const size_t header = text.find('\n') + 1;
    text.insert(header,
                "# place %getitem before %nowhere\n# place %p before %q\n"
                "# place %q before %p\n# place %getitem_3 before %mul\n"
                "# place %broken\n");
    a->mutable_meta().Set(kStashKey, MetaValue::String(text));
    ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
    EXPECT_TRUE(Verify(m.graph()).ok()) << PrintGraph(m.graph());
  }
}

// Hand-made graphs that look almost like a construct: each is left as it
// is (or reported), never crashes, and the switch stays verified.
TEST(ModeConstructsTest, NearMissGraphsAreReportedNotRewritten) {
  const char* graphs[] = {
      // bernoulli without arguments, and on a literal.
      R"(
    %x : f32[2] = placeholder[target=x]
    %b : f32[2] = aten.bernoulli_.float()
    return (%x,)
  )",
      // The mask multiplies itself.
      R"(
    %x : f32[2] = placeholder[target=x]
    %e : f32[2] = aten.empty_like.default(%x)
    %b : f32[2] = aten.bernoulli_.float(%e, 0.5)
    %y : f32[2] = aten.mul.Tensor(%b, %b)
    return (%y,)
  )",
      // A mask with a second user outside the construct.
      R"(
    %x : f32[2] = placeholder[target=x]
    %e : f32[2] = aten.empty_like.default(%x)
    %b : f32[2] = aten.bernoulli_.float(%e, 0.5)
    %y : f32[2] = aten.mul.Tensor(%x, %b)
    %z : f32[2] = aten.add.Tensor(%y, %b)
    return (%z,)
  )",
      // The mask broadcasts x up (result shape differs from x).
      R"(
    %x : f32[2, 1] = placeholder[target=x]
    %e : f32[2, 3] = aten.empty.memory_format([2, 3])
    %b : f32[2, 3] = aten.bernoulli_.float(%e, 0.5)
    %y : f32[2, 3] = aten.mul.Tensor(%x, %b)
    return (%y,)
  )",
      // No "val" anywhere.
      R"(
    %x = placeholder[target=x]
    %e = aten.empty_like.default(%x)
    %b = aten.bernoulli_.float(%e, 0.5)
    %y = aten.mul.Tensor(%x, %b)
    return (%y,)
  )",
      // A training flag that is not a bool, and one given by keyword.
      R"(
    %x : f32[2, 3, 4] = placeholder[target=x]
    %f : f32[2, 3, 4] = aten.feature_dropout.default(%x, 0.5, 1)
    %r : f32[2, 3, 4] = aten.rrelu.default(%f, 0.1, 0.3, training=True)
    return (%r,)
  )",
      // A counter-looking add on a buffer that is not num_batches_tracked,
      // and a counter that grows by 2.
      R"(
    %steps : i64[] = placeholder[target=steps]
    %b_num_batches_tracked : i64[] = placeholder[target=b_num_batches_tracked]
    %a : i64[] = aten.add_.Tensor(%steps, 1)
    %c : i64[] = aten.add_.Tensor(%b_num_batches_tracked, 2)
    return (%steps,)
  )",
  };
  int switched = 0;
  for (const char* text : graphs) {
    SCOPED_TRACE(text);
    absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
    ASSERT_TRUE(g.ok()) << g.status();
    ExportedModule m(*std::move(g));
    absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
    // bernoulli_ without its argument is refused by the schema check.
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
      continue;
    }
    ++switched;
    EXPECT_EQ(StashAnchors(m.graph()).size(), 0u) << PrintGraph(m.graph());
    // Whatever still draws or counts is reported as differing from eval.
    for (const char* t : {"aten.bernoulli_.float", "aten.feature_dropout.default"}) {
      for (const Node* n : m.graph().NodesWithTarget(t)) {
        bool listed = false;
        for (const LeftAlone& l : r->left_alone) {
          listed = listed || (l.node == n->name() && l.prevents_eval);
        }
        EXPECT_TRUE(listed) << n->name() << "\n" << r->ToString();
      }
    }
  }
  EXPECT_GE(switched, 6);
}

TEST(ModeConstructsTest, KeywordFlagsAndStepCountersAreHandledExactly) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(R"(
    %x : f32[2, 3, 4] = placeholder[target=x]
    %steps : i64[] = placeholder[target=steps]
    %b_num_batches_tracked : i64[] = placeholder[target=b_num_batches_tracked]
    %r : f32[2, 3, 4] = aten.rrelu.default(%x, 0.1, 0.3, training=True)
    %a : i64[] = aten.add_.Tensor(%steps, 1)
    %c : i64[] = aten.add_.Tensor(%b_num_batches_tracked, 2)
    return (%r,)
  )");
  ASSERT_TRUE(g.ok()) << g.status();
  ExportedModule m(*std::move(g));
  const std::string before = PrintGraph(m.graph());
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*m.graph().FindNode("r")->kwarg("training"), Argument::Bool(false));
  // A user's step counter keeps counting in eager eval too: untouched.
  EXPECT_EQ(m.graph().FindNode("a")->args()[1], Argument::Int(1));
  // A num_batches_tracked that grows by 2 is no batch norm's: reported.
  EXPECT_EQ(m.graph().FindNode("c")->args()[1], Argument::Int(2));
  EXPECT_EQ(r->num_preventing_eval(), 1) << r->ToString();
  ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
  EXPECT_EQ(PrintGraph(m.graph()), before);
}

ExportedModule FromText(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? ExportedModule(*std::move(g)) : ExportedModule();
}

// An in-place dropout whose result feeds a drop path: the second construct
// reads the first's result, which the first switch replaces by an alias.
TEST(ModeConstructsTest, ChainedMasksSwitchAndComeBack) {
  ExportedModule m = FromText(R"(
    %x : f32[2, 3, 1, 1] = placeholder[target=x]
    %h : f32[2, 3, 1, 1] = aten.mul.Tensor(%x, 2.0)
    %e1 : f32[2, 3, 1, 1] = aten.empty_like.default(%h)
    %b1 : f32[2, 3, 1, 1] = aten.bernoulli_.float(%e1, 0.7)
    %d1 : f32[2, 3, 1, 1] = aten.div_.Scalar(%b1, 0.7)
    %m1 : f32[2, 3, 1, 1] = aten.mul_.Tensor(%h, %d1)
    %e2 : f32[2, 1, 1, 1] = aten.new_empty.default(%m1, [2, 1, 1, 1])
    %b2 : f32[2, 1, 1, 1] = aten.bernoulli_.float(%e2, 0.9)
    %d2 : f32[2, 1, 1, 1] = aten.div_.Tensor(%b2, 0.9)
    %y : f32[2, 3, 1, 1] = aten.mul.Tensor(%m1, %d2)
    return (%y,)
  )");
  const std::string before = PrintGraph(m.graph());
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(Verify(m.graph()).ok());
  EXPECT_EQ(r->num_preventing_eval(), 0) << r->ToString();
  EXPECT_EQ(m.graph().CountTarget("aten.bernoulli_.float"), 0u);
  // y = alias(m1), m1 = alias(h).
  const Node* y = m.graph().FindNode("y");
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y->args()[0].node()->name(), "m1");
  EXPECT_EQ(y->args()[0].node()->args()[0].node()->name(), "h");
  ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
  EXPECT_EQ(PrintGraph(m.graph()), before);
}

// One multiplication of two masks: neither is the identity of the other.
TEST(ModeConstructsTest, MasksThatMultiplyEachOtherAreReported) {
  ExportedModule m = FromText(R"(
    %x : f32[4] = placeholder[target=x]
    %ea : f32[4] = aten.empty_like.default(%x)
    %ba : f32[4] = aten.bernoulli_.float(%ea, 0.5)
    %da : f32[4] = aten.div_.Scalar(%ba, 0.5)
    %eb : f32[4] = aten.empty_like.default(%x)
    %bb : f32[4] = aten.bernoulli_.float(%eb, 0.5)
    %db : f32[4] = aten.div_.Scalar(%bb, 0.5)
    %y : f32[4] = aten.mul.Tensor(%da, %db)
    return (%y,)
  )");
  const std::string before = PrintGraph(m.graph());
  TrainEvalOptions strict;
  strict.strict = true;
  ASSERT_FALSE(MoveExportedModelToEval(m, strict).ok());
  EXPECT_EQ(PrintGraph(m.graph()), before);
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(StashAnchors(m.graph()).size(), 0u);
  EXPECT_GE(r->num_preventing_eval(), 2) << r->ToString();
}

TEST(ModeConstructsTest, StrictRefusesFlagsThatAreNotLiterals) {
  for (const char* text : {
           R"(
    %x : f32[2] = placeholder[target=x]
    %t : b8[] = placeholder[target=t]
    %d : f32[2] = aten.dropout.default(%x, 0.5, %t)
    return (%d,)
  )",
           R"(
    %x : f32[2, 3, 4] = placeholder[target=x]
    %t : b8[] = placeholder[target=t]
    %d : f32[2, 3, 4] = aten.feature_dropout.default(%x, 0.5, %t)
    return (%d,)
  )"}) {
    SCOPED_TRACE(text);
    ExportedModule m = FromText(text);
    TrainEvalOptions strict;
    strict.strict = true;
    absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m, strict);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(absl::StrContains(r.status().message(), "%d")) << r.status();
    EXPECT_EQ(m.mode(), ModuleMode::kTrain);
  }
}

TEST(ModeConstructsTest, FlagsTheModelSetToFalseStayFalse) {
  ExportedModule m = FromText(R"(
    %x : f32[2, 3, 4] = placeholder[target=x]
    %off : f32[2, 3, 4] = aten.feature_dropout.default(%x, 0.5, False)
    %on : f32[2, 3, 4] = aten.feature_dropout.default(%off, 0.5, True)
    return (%on,)
  )");
  const std::string before = PrintGraph(m.graph());
  ASSERT_TRUE(MoveExportedModelToEval(m).ok());
  EXPECT_EQ(m.graph().FindNode("on")->args()[2], Argument::Bool(false));
  ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
  EXPECT_EQ(m.graph().FindNode("off")->args()[2], Argument::Bool(false));
  EXPECT_EQ(m.graph().FindNode("on")->args()[2], Argument::Bool(true));
  EXPECT_EQ(PrintGraph(m.graph()), before);
}

TEST(ModeConstructsTest, EvalExportedFlagsAllGoToTrain) {
  ExportedModule m = FromText(R"(
    %x : f32[2, 3, 4] = placeholder[target=x]
    %a : f32[2, 3, 4] = aten.feature_dropout.default(%x, 0.5, False)
    %r : f32[2, 3, 4] = aten.rrelu.default(%a, 0.1, 0.3, False)
    return (%r,)
  )");
  m.set_mode(ModuleMode::kEval);
  ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
  EXPECT_EQ(m.graph().FindNode("a")->args()[2], Argument::Bool(true));
  EXPECT_EQ(m.graph().FindNode("r")->args()[3], Argument::Bool(true));
}

TEST(ModeConstructsTest, StrictChecksAModuleAlreadyInEval) {
  ExportedModule m = FromText(kOddMask);
  ASSERT_TRUE(MoveExportedModelToEval(m).ok());
  TrainEvalOptions strict;
  strict.strict = true;
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m, strict);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "%b")) << r.status();
  EXPECT_EQ(m.mode(), ModuleMode::kEval);
}

TEST(ModeConstructsTest, StrictFailureKeepsTheCallersGraphReference) {
  ExportedModule m = FromText(kOddMask);
  Graph& g = m.graph();
  TrainEvalOptions strict;
  strict.strict = true;
  ASSERT_FALSE(MoveExportedModelToEval(m, strict).ok());
  EXPECT_EQ(&g, &m.graph());
  EXPECT_NE(g.FindNode("b"), nullptr);
}

TEST(ModeConstructsTest, StashesMayNotRestoreRewireMarkers) {
  const Case c{"dropout_inplace", "make_fx", "torch2"};
  ExportedModule m = EvalOf(c);
  Node* a = StashAnchors(m.graph())[0];
  std::string text = a->meta().Find(kStashKey)->as_string();
  // Give the first restored node a dropout marker.
  const size_t at = text.find("aten.empty_like.default(");
  ASSERT_NE(at, std::string::npos);
  const size_t eol = text.find('\n', at);
  const size_t brace = text.find('{', at);
  if (brace < eol) {
    text.insert(brace + 1, R"(rewire_dropout="dialect=bogus", )");
  } else {
    text.insert(eol, R"( {rewire_dropout="dialect=bogus"})");
  }
  a->mutable_meta().Set(kStashKey, MetaValue::String(text));
  ExpectTrainFailsUnchanged(m, "rewire metadata 'rewire_dropout'");
}

// An in-place dropout whose result nobody reads becomes an unused alias;
// no way back may lose it to dead-code elimination.
TEST(ModeConstructsTest, UnusedStashedAliasSurvivesEveryWayBack) {
  constexpr char kUnused[] = R"(
    %x : f32[2, 3] = placeholder[target=x]
    %h : f32[2, 3] = aten.mul.Tensor(%x, 2.0)
    %e : f32[2, 3] = aten.empty_like.default(%h)
    %b : f32[2, 3] = aten.bernoulli_.float(%e, 0.7)
    %d : f32[2, 3] = aten.div_.Scalar(%b, 0.7)
    %m : f32[2, 3] = aten.mul_.Tensor(%h, %d)
    return (%h,)
  )";
  for (bool batch_norm_only : {false, true}) {
    SCOPED_TRACE(batch_norm_only);
    ExportedModule m = FromText(kUnused);
    const std::string before = PrintGraph(m.graph());
    ASSERT_TRUE(MoveExportedModelToEval(m).ok());
    ASSERT_EQ(StashAnchors(m.graph()).size(), 1u);
    absl::StatusOr<TrainEvalReport> r =
        batch_norm_only ? ReplaceBatchNorm(m, ModuleMode::kTrain) : MoveExportedModelToTrain(m);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(PrintGraph(m.graph()), before);
  }
}

TEST(ModeConstructsTest, StashedEvalGraphSurvivesSaveAndLoad) {
  const Case c{"dropout_inplace", "core_aten", "torch2"};
  ExportedModule m = Load(c);
  m.graph().EliminateDeadCode();
  const std::string before = PrintGraph(m.graph());
  ASSERT_TRUE(MoveExportedModelToEval(m).ok());
  const std::string path = absl::StrCat(testing::TempDir(), "/stash.pb");
  ASSERT_TRUE(SaveModuleToFile(m, path).ok());
  absl::StatusOr<ExportedModule> back = LoadModuleFromFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE(MoveExportedModelToTrain(*back).ok());
  EXPECT_EQ(PrintGraph(back->graph()), before);
}

}  // namespace
}  // namespace rewire
