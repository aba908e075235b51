// rewrite/stash.h on hand-made stashes: what CheckStashes accepts,
// RestoreStashes carries out without failing and leaves a valid graph; what
// would erase or misplace nodes other stashes need is refused up front.
#include "rewrite/stash.h"

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ir/metadata.h"
#include "ir/text_format.h"
#include "ir/verifier.h"

namespace rewire {
namespace {

std::unique_ptr<Graph> Parse(const char* text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *std::move(g) : std::make_unique<Graph>();
}

void SetStash(Graph& g, const char* anchor, std::string text) {
  g.FindNode(anchor)->mutable_meta().Set(kStashKey, MetaValue::String(std::move(text)));
}

TEST(StashTest, AStashNeverErasesAnotherAnchor) {
  // %a2's stash does not read %a1, which only %a2 uses: restoring %a2 must
  // leave %a1 for its own stash.
  std::unique_ptr<Graph> g = Parse(R"(
    %x : f32[2] = placeholder[target=x]
    %a1 : f32[2] = aten.alias.default(%x)
    %a2 : f32[2] = aten.alias.default(%a1)
    return (%a2,)
  )");
  SetStash(*g, "a1", "# rewire stash v1\ngraph():\n    %x = placeholder[target=x]\n"
                     "    %a1 = aten.neg.default(%x)\n    return (%a1,)\n");
  SetStash(*g, "a2", "# rewire stash v1\ngraph():\n    %x = placeholder[target=x]\n"
                     "    %a2 = aten.exp.default(%x)\n    return (%a2,)\n");
  ASSERT_TRUE(CheckStashes(*g).ok()) << CheckStashes(*g);
  absl::StatusOr<int64_t> n = RestoreStashes(*g);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
  EXPECT_TRUE(Verify(*g).ok()) << PrintGraph(*g);
  EXPECT_EQ(g->output()->args()[0].node()->target().qualified, "aten.exp.default");
}

TEST(StashTest, ReadingWhatAnotherRestoreErasesIsRefusedUpFront) {
  // Restoring %a1 erases %e (only %a1 uses it); %a2's stash reads %e.
  std::unique_ptr<Graph> g = Parse(R"(
    %x : f32[2] = placeholder[target=x]
    %e : f32[2] = aten.relu.default(%x)
    %a1 : f32[2] = aten.alias.default(%e)
    %a2 : f32[2] = aten.alias.default(%x)
    return (%a1, %a2)
  )");
  SetStash(*g, "a1", "# rewire stash v1\ngraph():\n    %x = placeholder[target=x]\n"
                     "    %n = aten.neg.default(%x)\n    return (%n,)\n");
  SetStash(*g, "a2", "# rewire stash v1\ngraph():\n    %e = placeholder[target=e]\n"
                     "    %a2 = aten.relu.default(%e)\n    return (%a2,)\n");
  const std::string before = PrintGraph(*g);
  absl::Status s = CheckStashes(*g);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "restoring %a1 erases")) << s;
  EXPECT_FALSE(RestoreStashes(*g).ok());
  EXPECT_EQ(PrintGraph(*g), before);
}

TEST(StashTest, PlacesMoveOnlyRestoredNodesAndOnlyBeforeCallsOrTheOutput) {
  std::unique_ptr<Graph> g = Parse(R"(
    %x : f32[2] = placeholder[target=x]
    %e : f32[2] = aten.empty.memory_format([2])
    %r : f32[2] = aten.relu.default(%x)
    %a : f32[2] = aten.alias.default(%r)
    return (%a, %e)
  )");
  // %e is not restored; %k would land among the placeholders; %k twice.
  SetStash(*g, "a", "# rewire stash v1\n# place %e before %x\n# place %k before %x\n"
                    "# place %k before %r\n# place %m before %r\n# place %q before %r\n"
                    "graph():\n    %r = placeholder[target=r]\n"
                    "    %k = aten.empty.memory_format([2])\n"
                    "    %m = aten.neg.default(%r)\n    %q = aten.add.Tensor(%m, %k)\n"
                    "    return (%q,)\n");
  ASSERT_TRUE(CheckStashes(*g).ok()) << CheckStashes(*g);
  ASSERT_TRUE(RestoreStashes(*g).ok());
  EXPECT_TRUE(Verify(*g).ok()) << PrintGraph(*g);
  EXPECT_EQ(g->FindNode("e")->prev()->name(), "x") << PrintGraph(*g);
  EXPECT_TRUE(g->FindNode("x")->IsBefore(g->FindNode("k")));
}

}  // namespace
}  // namespace rewire
