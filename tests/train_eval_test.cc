// Tests of rewrite/train_eval.h: pt2e's export_utils scenarios in every
// exporter dialect, plus what upstream gets wrong or leaves out (custom
// literals, affine=False, no running stats, markers for dropouts without an
// eval node, failure atomicity).
#include "rewrite/train_eval.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/graph.h"
#include "ir/serialization.h"
#include "ir/text_format.h"
#include "ir/verifier.h"
#include "rewrite/replace_pattern.h"

namespace rewire {
namespace {

ExportedModule MakeModule(const std::string& text,
                          std::vector<Device> devices = {Device::Cpu()}) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  ExportedModule m(std::move(*g));
  int i = 0;
  for (const Device& d : devices) {
    StateTensor t;
    t.name = "state" + std::to_string(i++);
    t.role = TensorRole::kBuffer;
    t.shape = {1};
    t.device = d;
    t.data = std::string(4, '\0');
    EXPECT_TRUE(m.AddTensor(std::move(t)).ok());
  }
  return m;
}

std::string Bytes(const ExportedModule& m) {
  absl::StatusOr<std::string> s = SerializeModule(m, Format::kBinaryProto);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : "";
}

void ExpectVerified(const ExportedModule& m) {
  absl::Status s = Verify(m.graph());
  EXPECT_TRUE(s.ok()) << s << "\n" << PrintGraph(m.graph());
}

const Node* Only(const ExportedModule& m, absl::string_view target) {
  std::vector<Node*> nodes = m.graph().NodesWithTarget(target);
  EXPECT_EQ(nodes.size(), 1u) << target << "\n" << PrintGraph(m.graph());
  return nodes.empty() ? nullptr : nodes.front();
}

// conv -> bn -> relu -> dropout -> linear, as export_for_training writes it.
constexpr char kTrainingIr[] = R"(
graph():
    %x : f32[2, 3, 8, 8] = placeholder[target=x]
    %conv_w : f32[4, 3, 3, 3] = placeholder[target=conv_w]
    %bn_w : f32[4] = placeholder[target=bn_w]
    %bn_b : f32[4] = placeholder[target=bn_b]
    %bn_rm : f32[4] = placeholder[target=bn_rm]
    %bn_rv : f32[4] = placeholder[target=bn_rv]
    %bn_nbt : i64[] = placeholder[target=bn_nbt]
    %lin_w : f32[10, 4] = placeholder[target=lin_w]
    %conv2d : f32[2, 4, 6, 6] = aten.conv2d.default(%x, %conv_w)
    %add_ : i64[] = aten.add_.Tensor(%bn_nbt, %bn_nbt)
    %batch_norm : f32[2, 4, 6, 6] = aten.batch_norm.default(%conv2d, %bn_w, %bn_b, %bn_rm, %bn_rv, True, 0.03, 0.001, False) {stack_trace="File m.py, line 7", nn_module_stack="L__self__.bn"}
    %relu : f32[2, 4, 6, 6] = aten.relu.default(%batch_norm)
    %dropout : f32[2, 4, 6, 6] = aten.dropout.default(%relu, 0.3, True) {stack_trace="File m.py, line 9"}
    %mean : f32[2, 4] = aten.mean.dim(%dropout, [2, 3])
    %linear : f32[2, 10] = aten.linear.default(%mean, %lin_w)
    return (%linear,)
)";

TEST(TrainEvalTest, TrainingIrFlipsTrainingFlagsAndKeepsCustomLiterals) {
  ExportedModule m = MakeModule(kTrainingIr);
  const std::string original = PrintGraph(m.graph());
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(m.mode(), ModuleMode::kEval);
  ExpectVerified(m);
  const Node* d = m.graph().FindNode("dropout");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->args()[1], Argument::Double(0.3));
  EXPECT_EQ(d->args()[2], Argument::Bool(false));
  const Node* bn = m.graph().FindNode("batch_norm");
  ASSERT_NE(bn, nullptr);
  EXPECT_EQ(bn->args()[5], Argument::Bool(false));
  EXPECT_EQ(bn->args()[6], Argument::Double(0.03));
  EXPECT_EQ(bn->args()[7], Argument::Double(0.001));
  EXPECT_EQ(bn->args()[8], Argument::Bool(false));
  EXPECT_NE(bn->meta().Find("stack_trace"), nullptr);
  EXPECT_NE(bn->meta().Find("nn_module_stack"), nullptr);
  EXPECT_EQ(m.graph().CountTarget("aten.add_.Tensor"), 1u);
  EXPECT_EQ(r->Rewritten("dropout", Dialect::kTrainingIr), 1);
  EXPECT_EQ(r->Rewritten("batch_norm", Dialect::kTrainingIr), 1);
  EXPECT_TRUE(r->left_alone.empty()) << r->ToString();

  r = MoveExportedModelToTrain(m);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(m.mode(), ModuleMode::kTrain);
  ExpectVerified(m);
  EXPECT_EQ(PrintGraph(m.graph()), original);
}

TEST(TrainEvalTest, SecondSwitchToTheSameModeChangesNothing) {
  ExportedModule m = MakeModule(kTrainingIr);
  ASSERT_TRUE(MoveExportedModelToEval(m).ok());
  const std::string once = Bytes(m);
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->already_in_mode);
  EXPECT_EQ(Bytes(m), once);
  EXPECT_TRUE(absl::StrContains(r->ToString(), "already in eval"));
}

TEST(TrainEvalTest, TrainAndEvalNeedAllowExportedModelTrainEval) {
  ExportedModule m = MakeModule(kTrainingIr);
  const std::string before = Bytes(m);
  absl::StatusOr<TrainEvalReport> r = EvalModule(m);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(r.status().message(),
                                "AllowExportedModelTrainEval"));
  EXPECT_EQ(TrainModule(m, ModuleMode::kEval).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Bytes(m), before);
  AllowExportedModelTrainEval(m);
  ASSERT_TRUE(TrainModule(m, ModuleMode::kEval).ok());
  EXPECT_EQ(m.mode(), ModuleMode::kEval);
  EXPECT_EQ(m.graph().FindNode("dropout")->args()[2], Argument::Bool(false));
  ASSERT_TRUE(TrainModule(m).ok());
  EXPECT_EQ(m.mode(), ModuleMode::kTrain);
  EXPECT_EQ(m.graph().FindNode("dropout")->args()[2], Argument::Bool(true));
  ASSERT_TRUE(EvalModule(m).ok());
  EXPECT_EQ(m.mode(), ModuleMode::kEval);
}

TEST(TrainEvalTest, ModelIsExportedOnlyWithVal) {
  EXPECT_TRUE(ModelIsExported(MakeModule(kTrainingIr)));
  EXPECT_FALSE(ModelIsExported(MakeModule(R"(
    %x = placeholder
    %d = aten.dropout.default(%x, 0.5, True)
    return (%d,)
  )")));
}

TEST(TrainEvalTest, InplaceMixedBackToBackAndUnusedDropouts) {
  ExportedModule m = MakeModule(R"(
    %x : f32[4] = placeholder[target=x]
    %d1 : f32[4] = aten.dropout.default(%x, 0.1, True)
    %d2 : f32[4] = aten.dropout.default(%d1, 0.2, True)
    %d3 : f32[4] = aten.dropout_.default(%d2, 0.25, True)
    %d4 : f32[4] = aten.dropout_.default(%d3, 0.4, True)
    %relu : f32[4] = aten.relu.default(%d3)
    return (%relu,)
  )");
  const std::string original = PrintGraph(m.graph());
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectVerified(m);
  EXPECT_EQ(r->Rewritten("dropout", Dialect::kTrainingIr), 2);
  EXPECT_EQ(r->Rewritten("dropout_", Dialect::kTrainingIr), 2);
  const double ps[] = {0.1, 0.2, 0.25, 0.4};
  const char* names[] = {"d1", "d2", "d3", "d4"};
  for (int i = 0; i < 4; ++i) {
    const Node* n = m.graph().FindNode(names[i]);
    ASSERT_NE(n, nullptr) << names[i];
    EXPECT_EQ(n->args()[1], Argument::Double(ps[i]));
    EXPECT_EQ(n->args()[2], Argument::Bool(false));
  }
  ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
  EXPECT_EQ(PrintGraph(m.graph()), original);
}

TEST(TrainEvalTest, AffineFalseAndNoRunningStatsInTrainingIr) {
  ExportedModule m = MakeModule(R"(
    %x : f32[2, 3, 4, 4] = placeholder[target=x]
    %rm : f32[3] = placeholder[target=rm]
    %rv : f32[3] = placeholder[target=rv]
    %bn1 : f32[2, 3, 4, 4] = aten.batch_norm.default(%x, None, None, %rm, %rv, True, 0.2, 0.01, True)
    %bn2 : f32[2, 3, 4, 4] = aten.batch_norm.default(%bn1, None, None, None, None, True, 0.1, 1e-05, True)
    return (%bn2,)
  )");
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectVerified(m);
  EXPECT_EQ(m.graph().FindNode("bn1")->args()[5], Argument::Bool(false));
  EXPECT_EQ(m.graph().FindNode("bn1")->args()[1], Argument::None());
  EXPECT_EQ(m.graph().FindNode("bn2")->args()[5], Argument::Bool(true));
  ASSERT_EQ(r->left_alone.size(), 1u) << r->ToString();
  EXPECT_EQ(r->left_alone[0].node, "bn2");
  EXPECT_TRUE(absl::StrContains(r->left_alone[0].reason, "running stats"));
  ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
  EXPECT_EQ(m.graph().FindNode("bn1")->args()[5], Argument::Bool(true));
  EXPECT_EQ(m.graph().FindNode("bn1")->args()[6], Argument::Double(0.2));
}

TEST(TrainEvalTest, DropoutVariantsFlipAndRoundTrip) {
  ExportedModule m = MakeModule(R"(
    %x : f32[1, 2, 4, 4] = placeholder[target=x]
    %f : f32[1, 2, 4, 4] = aten.feature_dropout.default(%x, 0.5, True)
    %a : f32[1, 2, 4, 4] = aten.alpha_dropout.default(%f, 0.25, True)
    %fa : f32[1, 2, 4, 4] = aten.feature_alpha_dropout_.default(%a, 0.5, True)
    %d : f32[1, 2, 4, 4] = aten.dropout.default(%fa, 0.5, True)
    %ns : (f32[1, 2, 4, 4], f32[2], f32[2]) = aten._native_batch_norm_legit.no_stats(%d, None, None, True, 0.1, 1e-05)
    %g : f32[1, 2, 4, 4] = getitem(%ns, 0)
    return (%g,)
  )");
  const std::string before = PrintGraph(m.graph());
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  for (const char* n : {"f", "a", "fa", "d"}) {
    EXPECT_EQ(m.graph().FindNode(n)->args()[2], Argument::Bool(false)) << n;
  }
  // `_native_batch_norm_legit.no_stats` only comes from pre-dispatch and
  // core ATen; with aten.dropout that leaves pre-dispatch.
  EXPECT_EQ(r->Rewritten("feature_dropout", Dialect::kPreDispatch), 1);
  EXPECT_EQ(r->Rewritten("alpha_dropout", Dialect::kPreDispatch), 1);
  EXPECT_EQ(r->Rewritten("feature_alpha_dropout_", Dialect::kPreDispatch), 1);
  // Batch norm without running stats uses batch statistics in eager eval
  // too: listed, but not as a difference from eager eval.
  ASSERT_EQ(r->left_alone.size(), 1u) << r->ToString();
  EXPECT_EQ(r->left_alone[0].node, "ns");
  EXPECT_FALSE(r->left_alone[0].prevents_eval);
  EXPECT_EQ(m.graph().FindNode("ns")->args()[3], Argument::Bool(true));
  ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
  EXPECT_EQ(PrintGraph(m.graph()), before);
}

constexpr char kPreDispatch[] = R"(
    %x : f32[2, 3, 8, 8] = placeholder[target=x]
    %conv_w : f32[4, 3, 3, 3] = placeholder[target=conv_w]
    %bn_w : f32[4] = placeholder[target=bn_w]
    %bn_b : f32[4] = placeholder[target=bn_b]
    %bn_rm : f32[4] = placeholder[target=bn_rm]
    %bn_rv : f32[4] = placeholder[target=bn_rv]
    %lin_w : f32[10, 4] = placeholder[target=lin_w]
    %conv2d : f32[2, 4, 6, 6] = aten.conv2d.default(%x, %conv_w)
    %_native_batch_norm_legit : (f32[2, 4, 6, 6], f32[4], f32[4]) = aten._native_batch_norm_legit.default(%conv2d, %bn_w, %bn_b, %bn_rm, %bn_rv, True, 0.03, 0.001) {stack_trace="File m.py, line 7"}
    %getitem : f32[2, 4, 6, 6] = getitem(%_native_batch_norm_legit, 0) {stack_trace="File m.py, line 7"}
    %relu : f32[2, 4, 6, 6] = aten.relu.default(%getitem)
    %dropout : f32[2, 4, 6, 6] = aten.dropout.default(%relu, 0.3, True)
    %mean : f32[2, 4] = aten.mean.dim(%dropout, [2, 3])
    %linear : f32[2, 10] = aten.linear.default(%mean, %lin_w)
    return (%linear,)
)";

TEST(TrainEvalTest, PreDispatchCpuBatchNormRoundTripKeepsMomentumAndEps) {
  ExportedModule m = MakeModule(kPreDispatch);
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectVerified(m);
  EXPECT_EQ(r->Rewritten("batch_norm", Dialect::kPreDispatch), 1) << r->ToString();
  EXPECT_EQ(r->Rewritten("dropout", Dialect::kPreDispatch), 1) << r->ToString();
  const Node* nt = Only(m, "aten._native_batch_norm_legit_no_training.default");
  ASSERT_NE(nt, nullptr);
  EXPECT_EQ(nt->args()[5], Argument::Double(0.03));
  EXPECT_EQ(nt->args()[6], Argument::Double(0.001));
  EXPECT_NE(nt->meta().Find("stack_trace"), nullptr);
  EXPECT_NE(nt->meta().Find(kBatchNormMarkerKey), nullptr);
  EXPECT_NE(m.graph().FindNode("getitem"), nullptr);  // same op, same name
  EXPECT_EQ(m.graph().CountTarget("aten._native_batch_norm_legit.default"), 0u);

  ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
  ExpectVerified(m);
  const Node* legit = Only(m, "aten._native_batch_norm_legit.default");
  ASSERT_NE(legit, nullptr);
  EXPECT_EQ(legit->args()[5], Argument::Bool(true));
  EXPECT_EQ(legit->args()[6], Argument::Double(0.03));
  EXPECT_EQ(legit->args()[7], Argument::Double(0.001));
  EXPECT_EQ(legit->meta().Find(kBatchNormMarkerKey), nullptr);
  EXPECT_EQ(m.graph().FindNode("dropout")->args()[1], Argument::Double(0.3));
}

TEST(TrainEvalTest, PreDispatchCudaModuleFlipsCudnnBatchNorm) {
  ExportedModule m = MakeModule(R"(
    %x : f32[2, 3, 4, 4]@cuda:0 = placeholder[target=x]
    %w : f32[3]@cuda:0 = placeholder[target=w]
    %b : f32[3]@cuda:0 = placeholder[target=b]
    %rm : f32[3]@cuda:0 = placeholder[target=rm]
    %rv : f32[3]@cuda:0 = placeholder[target=rv]
    %cudnn_batch_norm : (f32[2, 3, 4, 4]@cuda:0, f32[3]@cuda:0, f32[3]@cuda:0, u8[0]@cuda:0) = aten.cudnn_batch_norm.default(%x, %w, %b, %rm, %rv, True, 0.05, 0.0001)
    %getitem : f32[2, 3, 4, 4]@cuda:0 = getitem(%cudnn_batch_norm, 0)
    return (%getitem,)
  )", {Device::Cuda(0), Device::Cuda(0)});
  const std::string original = PrintGraph(m.graph());
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectVerified(m);
  EXPECT_EQ(r->Rewritten("batch_norm", Dialect::kPreDispatch), 1);
  const Node* bn = m.graph().FindNode("cudnn_batch_norm");
  ASSERT_NE(bn, nullptr);
  EXPECT_EQ(bn->args()[5], Argument::Bool(false));
  EXPECT_EQ(bn->args()[6], Argument::Double(0.05));
  ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
  EXPECT_EQ(PrintGraph(m.graph()), original);
}

TEST(TrainEvalTest, MultiDeviceModuleFailsAndStaysByteEqual) {
  ExportedModule m = MakeModule(kTrainingIr, {Device::Cpu(), Device::Cuda(0)});
  // A dead node: dead-code elimination must not run before the failure.
  ASSERT_TRUE(m.graph()
                  .AddCall("aten.relu.default",
                           {Argument::Ref(m.graph().FindNode("x"))})
                  .ok());
  const std::string before = Bytes(m);
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "cuda:0")) << r.status();
  EXPECT_EQ(m.mode(), ModuleMode::kTrain);
  EXPECT_EQ(Bytes(m), before);
}

constexpr char kCoreAten[] = R"(
    %x : f32[2, 3, 8, 8] = placeholder[target=x]
    %conv_w : f32[4, 3, 3, 3] = placeholder[target=conv_w]
    %bn_w : f32[4] = placeholder[target=bn_w]
    %bn_b : f32[4] = placeholder[target=bn_b]
    %bn_rm : f32[4] = placeholder[target=bn_rm]
    %bn_rv : f32[4] = placeholder[target=bn_rv]
    %bn_nbt : i64[] = placeholder[target=bn_nbt]
    %conv : f32[2, 4, 6, 6] = aten.convolution.default(%conv2d_x, %conv_w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
    %add : i64[] = aten.add.Tensor(%bn_nbt, %bn_nbt)
    %bnf : (f32[2, 4, 6, 6], f32[4], f32[4], f32[4], f32[4]) = aten._native_batch_norm_legit_functional.default(%conv, %bn_w, %bn_b, %bn_rm, %bn_rv, True, 0.03, 0.001) {stack_trace="File m.py, line 7"}
    %getitem : f32[2, 4, 6, 6] = getitem(%bnf, 0)
    %getitem_1 : f32[4] = getitem(%bnf, 1)
    %getitem_2 : f32[4] = getitem(%bnf, 2)
    %getitem_3 : f32[4] = getitem(%bnf, 3)
    %getitem_4 : f32[4] = getitem(%bnf, 4)
    %relu : f32[2, 4, 6, 6] = aten.relu.default(%getitem)
    %native_dropout : (f32[2, 4, 6, 6], b8[2, 4, 6, 6]) = aten.native_dropout.default(%relu, 0.3, True)
    %getitem_5 : f32[2, 4, 6, 6] = getitem(%native_dropout, 0) {stack_trace="File m.py, line 9"}
    %getitem_6 : b8[2, 4, 6, 6] = getitem(%native_dropout, 1)
    %copy_ : f32[4] = aten.copy_.default(%bn_rm, %getitem_3)
    %copy__1 : f32[4] = aten.copy_.default(%bn_rv, %getitem_4)
    %copy__2 : i64[] = aten.copy_.default(%bn_nbt, %add)
    return (%getitem_5,)
)";

std::string CoreAtenText() {
  std::string s = kCoreAten;
  // The convolution reads %x directly.
  return s.replace(s.find("%conv2d_x"), 9, "%x");
}

TEST(TrainEvalTest, CoreAtenBatchNormWithCopiesAndDropoutRoundTrip) {
  ExportedModule m = MakeModule(CoreAtenText());
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectVerified(m);
  EXPECT_EQ(r->Rewritten("batch_norm", Dialect::kCoreAten), 1) << r->ToString();
  EXPECT_EQ(r->Rewritten("dropout", Dialect::kCoreAten), 1) << r->ToString();
  EXPECT_EQ(m.graph().CountTarget(
                "aten._native_batch_norm_legit_functional.default"), 0u);
  EXPECT_EQ(m.graph().CountTarget("aten.native_dropout.default"), 0u);
  // Only the num_batches_tracked copy is left.
  EXPECT_EQ(m.graph().CountTarget("aten.copy_.default"), 1u)
      << PrintGraph(m.graph());
  const Node* nt = Only(m, "aten._native_batch_norm_legit_no_training.default");
  ASSERT_NE(nt, nullptr);
  EXPECT_EQ(nt->args()[5], Argument::Double(0.03));
  EXPECT_EQ(nt->args()[6], Argument::Double(0.001));
  const Node* alias = Only(m, "aten.alias.default");
  ASSERT_NE(alias, nullptr);
  const MetaValue* marker = alias->meta().Find(kDropoutMarkerKey);
  ASSERT_NE(marker, nullptr);
  EXPECT_EQ(marker->as_string(), "dialect=core_aten;p=0.3");
  EXPECT_NE(alias->meta().Find("stack_trace"), nullptr);

  r = MoveExportedModelToTrain(m);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectVerified(m);
  const Node* f = Only(m, "aten._native_batch_norm_legit_functional.default");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->args()[6], Argument::Double(0.03));
  EXPECT_EQ(f->args()[7], Argument::Double(0.001));
  EXPECT_EQ(m.graph().CountTarget("aten.copy_.default"), 3u);
  const Node* nd = Only(m, "aten.native_dropout.default");
  ASSERT_NE(nd, nullptr);
  EXPECT_EQ(nd->args()[1], Argument::Double(0.3));
  EXPECT_EQ(nd->args()[2], Argument::Bool(true));
  EXPECT_EQ(m.graph().CountTarget("aten.alias.default"), 0u);
  // And again: the restored graph switches like an exported one.
  ASSERT_TRUE(MoveExportedModelToEval(m).ok());
  ExpectVerified(m);
  EXPECT_EQ(m.graph().CountTarget("aten.copy_.default"), 1u);
}

TEST(TrainEvalTest, CoreAtenModelExportedInEvalHasNoDropoutToRestore) {
  ExportedModule m = MakeModule(R"(
    %x : f32[2, 4] = placeholder[target=x]
    %w : f32[4] = placeholder[target=w]
    %b : f32[4] = placeholder[target=b]
    %rm : f32[4] = placeholder[target=rm]
    %rv : f32[4] = placeholder[target=rv]
    %nt : (f32[2, 4], f32[0], f32[0]) = aten._native_batch_norm_legit_no_training.default(%x, %w, %b, %rm, %rv, 0.1, 1e-05)
    %getitem : f32[2, 4] = getitem(%nt, 0)
    %clone : f32[2, 4] = aten.clone.default(%getitem)
    %addmm : f32[2, 4] = aten.addmm.default(%b, %clone, %w)
    return (%addmm,)
  )");
  m.set_mode(ModuleMode::kEval);
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToTrain(m);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectVerified(m);
  EXPECT_EQ(r->Rewritten("batch_norm", Dialect::kCoreAten), 1) << r->ToString();
  EXPECT_EQ(m.graph().CountTarget("aten.copy_.default"), 2u);
  EXPECT_EQ(m.graph().CountTarget("aten.clone.default"), 1u);
  ASSERT_EQ(r->notes.size(), 1u) << r->ToString();
  EXPECT_TRUE(absl::StrContains(r->notes[0], "clone")) << r->notes[0];
}

TEST(TrainEvalTest, MakeFxDropoutAndBatchNormRoundTripExactly) {
  ExportedModule m = MakeModule(R"(
    %x_1 : f32[2, 3, 4, 4] = placeholder[target=x_1]
    %w_1 : f32[3] = placeholder[target=w_1]
    %b_1 : f32[3] = placeholder[target=b_1]
    %rm_1 : f32[3] = placeholder[target=rm_1]
    %rv_1 : f32[3] = placeholder[target=rv_1]
    %native_batch_norm : (f32[2, 3, 4, 4], f32[3], f32[3]) = aten.native_batch_norm.default(%x_1, %w_1, %b_1, %rm_1, %rv_1, True, 0.03, 0.001)
    %getitem : f32[2, 3, 4, 4] = getitem(%native_batch_norm, 0)
    %getitem_1 : f32[3] = getitem(%native_batch_norm, 1)
    %empty_like : f32[2, 3, 4, 4] = aten.empty_like.default(%getitem, memory_format=torch.contiguous_format)
    %bernoulli_ : f32[2, 3, 4, 4] = aten.bernoulli_.float(%empty_like, 0.7)
    %div_ : f32[2, 3, 4, 4] = aten.div_.Scalar(%bernoulli_, 0.7)
    %mul : f32[2, 3, 4, 4] = aten.mul.Tensor(%getitem, %div_) {stack_trace="File m.py, line 9"}
    %empty_like_1 : f32[2, 3, 4, 4] = aten.empty_like.default(%mul, memory_format=torch.contiguous_format)
    %bernoulli__1 : f32[2, 3, 4, 4] = aten.bernoulli_.float(%empty_like_1)
    %div__1 : f32[2, 3, 4, 4] = aten.div_.Scalar(%bernoulli__1, 0.5)
    %mul_1 : f32[2, 3, 4, 4] = aten.mul.Tensor(%mul, %div__1)
    return (%mul_1,)
  )");
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectVerified(m);
  const std::string eval_text = PrintGraph(m.graph());
  EXPECT_EQ(r->Rewritten("dropout", Dialect::kMakeFx), 2) << r->ToString();
  EXPECT_EQ(r->Rewritten("batch_norm", Dialect::kMakeFx), 1) << r->ToString();
  EXPECT_EQ(m.graph().CountTarget("aten.bernoulli_.float"), 0u);
  EXPECT_EQ(m.graph().CountTarget("aten.alias.default"), 2u);
  EXPECT_EQ(m.graph().FindNode("native_batch_norm")->args()[5],
            Argument::Bool(false));

  r = MoveExportedModelToTrain(m);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectVerified(m);
  std::vector<Node*> bern = m.graph().NodesWithTarget("aten.bernoulli_.float");
  ASSERT_EQ(bern.size(), 2u);
  EXPECT_EQ(bern[0]->args().size(), 2u);
  EXPECT_EQ(bern[0]->args()[1], Argument::Double(0.7));
  EXPECT_EQ(bern[1]->args().size(), 1u);  // p left to the default, as make_fx
  std::vector<Node*> divs = m.graph().NodesWithTarget("aten.div_.Scalar");
  ASSERT_EQ(divs.size(), 2u);
  EXPECT_EQ(divs[0]->args()[1], Argument::Double(0.7));
  EXPECT_EQ(divs[1]->args()[1], Argument::Double(0.5));
  for (Node* n : m.graph().NodesWithTarget("aten.mul.Tensor")) {
    EXPECT_EQ(n->meta().Find(kDropoutMarkerKey), nullptr);
  }
  EXPECT_EQ(m.graph().FindNode("native_batch_norm")->args()[6],
            Argument::Double(0.03));
  ASSERT_TRUE(MoveExportedModelToEval(m).ok());
  EXPECT_EQ(m.graph().CountTarget("aten.alias.default"), 2u);
}

TEST(TrainEvalTest, CorruptDropoutMarkerFailsAndLeavesModuleByteEqual) {
  ExportedModule m = MakeModule(R"(
    %x : f32[4] = placeholder[target=x]
    %d : f32[4] = aten.dropout.default(%x, 0.5, False)
    %alias : f32[4] = aten.alias.default(%d) {rewire_dropout="dialect=core_aten;p=abc"}
    return (%alias,)
  )");
  m.set_mode(ModuleMode::kEval);
  const std::string before = Bytes(m);
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToTrain(m);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "alias")) << r.status();
  EXPECT_EQ(m.mode(), ModuleMode::kEval);
  EXPECT_EQ(Bytes(m), before);
}

TEST(TrainEvalTest, SeveralBatchNormsAndDropoutsAreAllCountedAndReported) {
  std::string text = "%x : f32[1, 2, 4, 4] = placeholder[target=x]\n";
  std::string prev = "x";
  for (int i = 0; i < 3; ++i) {
    const std::string s = std::to_string(i);
    text += "%rm" + s + " : f32[2] = placeholder[target=rm" + s + "]\n";
    text += "%rv" + s + " : f32[2] = placeholder[target=rv" + s + "]\n";
  }
  for (int i = 0; i < 3; ++i) {
    const std::string s = std::to_string(i);
    text += "%bn" + s + " : f32[1, 2, 4, 4] = aten.batch_norm.default(%" + prev +
            ", None, None, %rm" + s + ", %rv" + s + ", True, 0.1, 1e-05, True)\n";
    text += "%d" + s + " : f32[1, 2, 4, 4] = aten.dropout.default(%bn" + s +
            ", 0.5, True)\n";
    prev = "d" + s;
  }
  text += "return (%" + prev + ",)\n";
  ExportedModule m = MakeModule(text);
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectVerified(m);
  EXPECT_EQ(r->total_rewritten(), 6);
  EXPECT_EQ(r->Rewritten("batch_norm", Dialect::kTrainingIr), 3);
  const std::string s = r->ToString();
  EXPECT_TRUE(absl::StrContains(s, "batch_norm [training_ir]: 3")) << s;
  EXPECT_TRUE(absl::StrContains(s, "dropout [training_ir]: 3")) << s;
}

// Regression: ReplacePatternWithFilters with a per-match ReplacementFn whose
// replacement is not an in-place flip read its node correspondence through a
// pointer into a moved-from Plan (use after free; crashed on the pre-dispatch
// batch norm). Fixed in rewrite/replace_pattern.cc by re-pointing `corr`.
TEST(ReplacePatternRegressionTest, PerMatchReplacementWithNewOpsIsApplied) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(R"(
    %x : f32[2] = placeholder[target=x]
    %a : f32[2] = aten.relu.default(%x) {stack_trace="s1"}
    %b : f32[2] = aten.relu.default(%a) {stack_trace="s2"}
    %c : f32[2] = aten.relu.default(%b)
    return (%c,)
  )");
  ASSERT_TRUE(g.ok());
  absl::StatusOr<std::unique_ptr<Graph>> pattern = ParseGraph(R"(
    %x = placeholder
    %r = aten.relu.default(%x)
    return (%r,)
  )");
  ASSERT_TRUE(pattern.ok());
  ReplacementFn fn = [](const InternalMatch&, const Graph&)
      -> absl::StatusOr<std::unique_ptr<Graph>> {
    return ParseGraph(R"(
      %x = placeholder
      %s = aten.sigmoid.default(%x)
      return (%s,)
    )");
  };
  absl::StatusOr<ReplaceResult> r = ReplacePatternWithFilters(**g, **pattern, fn);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->replaced.size(), 3u);
  EXPECT_EQ((*g)->CountTarget("aten.sigmoid.default"), 3u);
  std::vector<Node*> s = (*g)->NodesWithTarget("aten.sigmoid.default");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_NE(s[0]->meta().Find("stack_trace"), nullptr);
  EXPECT_TRUE(Verify(**g).ok());
}

}  // namespace
}  // namespace rewire
