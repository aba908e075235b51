// Batch counters (rewrite/batch_counters.h): counters anywhere in the graph
// switch and come back, other adds stay, the report counts each counter, and
// a buffer of that name that grows by another amount is reported.
#include "rewrite/batch_counters.h"

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/text_format.h"
#include "rewrite/train_eval.h"

namespace rewire {
namespace {

// Block 1's counter sits right before its batch norm, as every exporter
// writes it; block 2's is far from it; %res is a residual add_.
constexpr char kTwoBlocks[] = R"(
  %x : f32[2, 3] = placeholder[target=x]
  %w : f32[3] = placeholder[target=w]
  %b : f32[3] = placeholder[target=b]
  %b_bn1_running_mean : f32[3] = placeholder[target=b_bn1_running_mean]
  %b_bn1_running_var : f32[3] = placeholder[target=b_bn1_running_var]
  %b_bn1_num_batches_tracked : i64[] = placeholder[target=b_bn1_num_batches_tracked]
  %b_bn2_running_mean : f32[3] = placeholder[target=b_bn2_running_mean]
  %b_bn2_running_var : f32[3] = placeholder[target=b_bn2_running_var]
  %b_bn2_num_batches_tracked : i64[] = placeholder[target=b_bn2_num_batches_tracked]
  %far : i64[] = aten.add_.Tensor(%b_bn2_num_batches_tracked, 1)
  %near : i64[] = aten.add_.Tensor(%b_bn1_num_batches_tracked, 1)
  %bn1 : f32[2, 3] = aten.batch_norm.default(%x, %w, %b, %b_bn1_running_mean, %b_bn1_running_var, True, 0.1, 1e-05, False)
  %r : f32[2, 3] = aten.relu.default(%bn1)
  %res : f32[2, 3] = aten.add_.Tensor(%r, %x)
  %bn2 : f32[2, 3] = aten.batch_norm.default(%res, %w, %b, %b_bn2_running_mean, %b_bn2_running_var, True, 0.1, 1e-05, False)
  return (%bn2,)
)";

ExportedModule Module(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? ExportedModule(*std::move(g)) : ExportedModule();
}

int64_t Increment(const ExportedModule& m, const char* node) {
  return m.graph().FindNode(node)->args()[1].as_int();
}

int64_t CounterSites(const TrainEvalReport& r) {
  int64_t n = 0;
  for (const PatternSites& s : r.sites) n += s.pattern == "batch_counter" ? s.rewritten : 0;
  return n;
}

TEST(BatchCountersTest, EveryCounterSwitchesAndResidualAddsStay) {
  ExportedModule m = Module(kTwoBlocks);
  const std::string before = PrintGraph(m.graph());
  absl::StatusOr<TrainEvalReport> r = MoveExportedModelToEval(m);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Increment(m, "near"), 0);
  EXPECT_EQ(Increment(m, "far"), 0);
  EXPECT_TRUE(m.graph().FindNode("res")->args()[1].is_node());
  EXPECT_EQ(CounterSites(*r), 2) << r->ToString();
  EXPECT_EQ(r->num_preventing_eval(), 0) << r->ToString();
  absl::StatusOr<TrainEvalReport> back = MoveExportedModelToTrain(m);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(CounterSites(*back), 2) << back->ToString();
  EXPECT_EQ(PrintGraph(m.graph()), before);
}

TEST(BatchCountersTest, ForeignIncrementsAreLeftAloneAndReported) {
  ExportedModule m = Module(R"(
    %x : f32[2, 3] = placeholder[target=x]
    %rm : f32[3] = placeholder[target=rm]
    %rv : f32[3] = placeholder[target=rv]
    %bn_num_batches_tracked : i64[] = placeholder[target=bn_num_batches_tracked]
    %c : i64[] = aten.add_.Tensor(%bn_num_batches_tracked, 3)
    %bn : f32[2, 3] = aten.batch_norm.default(%x, None, None, %rm, %rv, True, 0.1, 1e-05, False)
    return (%bn,)
  )");
  TrainEvalReport report;
  SwitchBatchCounters(m, ModuleMode::kEval, Dialect::kTrainingIr, report);
  EXPECT_EQ(Increment(m, "c"), 3);
  ASSERT_EQ(report.left_alone.size(), 1u);
  EXPECT_EQ(report.left_alone[0].node, "c");
  EXPECT_TRUE(report.left_alone[0].prevents_eval);
  int counting = 0;
  ForEachCountingBatchCounter(m, [&](const Node*) { ++counting; });
  EXPECT_EQ(counting, 1);
}

}  // namespace
}  // namespace rewire
