// Tests of the Graph mutation API (ir/graph.h): creation and insertion,
// erase refused while users remain, ReplaceInput / ReplaceAllUsesWith with
// per-slot uses, SetArguments, Rename, dead-code elimination keeping
// mutating ops, the target index, order keys under many mid-insertions,
// UniqueName and Clone. Graphs are written in the text form.
#include "ir/graph.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/text_format.h"
#include "ir/verifier.h"
#include "tests/graph_equality.h"

namespace rewire {
namespace {

using ::rewire::testing_internal::GraphsStructurallyEqual;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::unique_ptr<Graph> Parse(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return std::make_unique<Graph>();
  return *std::move(g);
}

std::vector<std::string> Names(const std::vector<Node*>& nodes) {
  std::vector<std::string> out;
  for (const Node* n : nodes) out.push_back(n->name());
  return out;
}

std::vector<std::string> Order(const Graph& g) {
  std::vector<std::string> out;
  for (const Node* n : g) out.push_back(n->name());
  return out;
}

void ExpectValid(const Graph& g) {
  absl::Status s = Verify(g);
  EXPECT_TRUE(s.ok()) << s << "\n" << PrintGraph(g);
}

Graph::NodeSpec Call(std::string target, std::vector<Argument> args,
                     std::string name = "") {
  Graph::NodeSpec spec;
  spec.op = OpKind::kCallFunction;
  spec.target = std::move(target);
  spec.args = std::move(args);
  spec.name = std::move(name);
  return spec;
}

constexpr char kChain[] = R"IR(
  %x = placeholder
  %a = aten.relu.default(%x)
  %b = aten.neg.default(%a)
  return (%b,)
)IR";

TEST(GraphTest, CreateAppendAndInsert) {
  std::unique_ptr<Graph> g = Parse(kChain);
  Node* a = g->FindNode("a");
  Node* b = g->FindNode("b");
  absl::StatusOr<Node*> before =
      g->InsertBefore(b, Call("aten.exp.default", {Argument::Ref(a)}));
  ASSERT_TRUE(before.ok()) << before.status();
  absl::StatusOr<Node*> after =
      g->InsertAfter(a, Call("aten.sqrt.default", {Argument::Ref(a)}, "s"));
  ASSERT_TRUE(after.ok());
  // Appending goes before the output node.
  absl::StatusOr<Node*> tail = g->AddCall("aten.tanh.default", {Argument::Ref(b)});
  ASSERT_TRUE(tail.ok());
  EXPECT_THAT(Order(*g), ElementsAre("x", "a", "s", "exp", "b", "tanh", "output"));
  EXPECT_EQ((*before)->name(), "exp");
  EXPECT_TRUE(a->IsBefore(*after));
  EXPECT_TRUE((*after)->IsBefore(*before));
  EXPECT_THAT(Names(a->Users()), ElementsAre("s", "exp", "b"));
  // A placeholder added later still goes with the placeholders.
  ASSERT_TRUE(g->AddPlaceholder("y").ok());
  EXPECT_THAT(Order(*g), ElementsAre("x", "y", "a", "s", "exp", "b", "tanh", "output"));
  ExpectValid(*g);
}

TEST(GraphTest, CreationRefusesBadArguments) {
  std::unique_ptr<Graph> g = Parse(kChain);
  Node* a = g->FindNode("a");
  Node* b = g->FindNode("b");
  // Using a node defined later than the insertion point.
  EXPECT_FALSE(g->InsertBefore(a, Call("aten.relu.default", {Argument::Ref(b)})).ok());
  // Using itself is impossible; using the position itself is refused.
  EXPECT_FALSE(g->InsertBefore(a, Call("aten.relu.default", {Argument::Ref(a)})).ok());
  EXPECT_EQ(g->InsertAfter(g->output(), Call("aten.relu.default", {})).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Duplicate names and a second output.
  EXPECT_EQ(g->AddCall("aten.relu.default", {}).status().code(),
            absl::StatusCode::kOk);
  EXPECT_EQ(g->Append(Call("aten.relu.default", {}, "a")).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(g->AddOutput({}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  Graph other;
  Node* foreign = *other.AddPlaceholder("z");
  EXPECT_FALSE(g->AddCall("aten.relu.default", {Argument::Ref(foreign)}).ok());
  EXPECT_EQ(g->size(), 5u);
}

TEST(GraphTest, EraseRefusedWhileUsersRemain) {
  std::unique_ptr<Graph> g = Parse(kChain);
  Node* a = g->FindNode("a");
  absl::Status s = g->Erase(a);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("still used by %b"));
  EXPECT_EQ(g->size(), 4u);
  ASSERT_TRUE(g->Erase(g->output()).ok());
  EXPECT_EQ(g->output(), nullptr);
  ASSERT_TRUE(g->Erase(g->FindNode("b")).ok());
  EXPECT_FALSE(a->has_uses());
  ASSERT_TRUE(g->Erase(a).ok());
  EXPECT_EQ(g->FindNode("a"), nullptr);
  EXPECT_FALSE(g->FindNode("x")->has_uses());
  EXPECT_EQ(g->CountTarget("aten.relu.default"), 0u);
}

TEST(GraphTest, ReplaceInputRedirectsOneSlot) {
  std::unique_ptr<Graph> g = Parse(R"IR(
    %x = placeholder
    %y = placeholder
    %add = aten.add.Tensor(%x, %x)
    %cat = aten.cat.default([%x, %y, %x], dim=0)
    return (%add, %cat)
  )IR");
  Node* x = g->FindNode("x");
  Node* y = g->FindNode("y");
  Node* add = g->FindNode("add");
  Node* cat = g->FindNode("cat");
  EXPECT_THAT(x->uses(), UnorderedElementsAre(Use{add, 0}, Use{add, 1},
                                              Use{cat, 0}, Use{cat, 2}));
  ASSERT_TRUE(g->ReplaceInput(add, 1, y).ok());
  EXPECT_EQ(PrintNode(*add), "%add = aten.add.Tensor(%x, %y)");
  ASSERT_TRUE(g->ReplaceInput(cat, 2, y).ok());
  EXPECT_EQ(PrintNode(*cat), "%cat = aten.cat.default([%x, %y, %y], dim=0)");
  EXPECT_THAT(x->uses(), UnorderedElementsAre(Use{add, 0}, Use{cat, 0}));
  EXPECT_THAT(y->uses(), UnorderedElementsAre(Use{add, 1}, Use{cat, 1},
                                              Use{cat, 2}));
  EXPECT_EQ(g->ReplaceInput(add, 2, y).code(), absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(g->ReplaceInput(add, 0, cat).ok());  // defined after %add
  EXPECT_FALSE(g->ReplaceInput(add, 0, add).ok());
  ExpectValid(*g);
}

TEST(GraphTest, ReplaceAllUsesWithHandlesDoubleUse) {
  std::unique_ptr<Graph> g = Parse(R"IR(
    %x = placeholder
    %a = aten.relu.default(%x)
    %n = aten.neg.default(%x)
    %b = aten.exp.default(%a)
    %c = aten.add.Tensor(%a, %a, alpha=2)
    %d = aten.cat.default([%a, %b], dim=0)
    return (%c, %d, %a)
  )IR");
  Node* a = g->FindNode("a");
  Node* n = g->FindNode("n");
  ASSERT_TRUE(g->ReplaceAllUsesWith(a, n).ok());
  EXPECT_FALSE(a->has_uses());
  EXPECT_EQ(PrintGraph(*g),
            "graph():\n"
            "    %x = placeholder[target=x]\n"
            "    %a = aten.relu.default(%x)\n"
            "    %n = aten.neg.default(%x)\n"
            "    %b = aten.exp.default(%n)\n"
            "    %c = aten.add.Tensor(%n, %n, alpha=2)\n"
            "    %d = aten.cat.default([%n, %b], dim=0)\n"
            "    return (%c, %d, %n)\n");
  EXPECT_EQ(n->num_uses(), 5u);
  ExpectValid(*g);
  // Refused (and nothing changes) when the replacement comes after a user.
  Node* b = g->FindNode("b");
  std::string before = PrintGraph(*g);
  EXPECT_FALSE(g->ReplaceAllUsesWith(n, b).ok());
  EXPECT_EQ(PrintGraph(*g), before);
}

TEST(GraphTest, SetArgumentsRewiresUses) {
  std::unique_ptr<Graph> g = Parse(kChain);
  Node* x = g->FindNode("x");
  Node* a = g->FindNode("a");
  Node* b = g->FindNode("b");
  ASSERT_TRUE(g->SetArguments(b, {Argument::Ref(x), Argument::List({Argument::Ref(a)})},
                              {{"k", Argument::Ref(x)}})
                  .ok());
  EXPECT_THAT(x->uses(), UnorderedElementsAre(Use{a, 0}, Use{b, 0}, Use{b, 2}));
  EXPECT_THAT(a->uses(), ElementsAre(Use{b, 1}));
  EXPECT_FALSE(g->SetArguments(a, {Argument::Ref(b)}, {}).ok());
  EXPECT_EQ(PrintNode(*a), "%a = aten.relu.default(%x)");
  ASSERT_TRUE(g->SetArguments(b, {}, {}).ok());
  EXPECT_FALSE(a->has_uses());
}

TEST(GraphTest, SetLiteralArgumentReplacesOnlyThatLiteral) {
  auto g = ParseGraph(R"(
    %x = placeholder
    %d = aten.dropout.default(%x, 0.5, train=True)
    return (%d,)
  )");
  ASSERT_TRUE(g.ok()) << g.status();
  Node* x = (*g)->FindNode("x");
  Node* d = (*g)->FindNode("d");
  // Index 1 is the positional p, index 2 the first keyword argument.
  ASSERT_TRUE((*g)->SetLiteralArgument(d, 1, Argument::Double(0.25)).ok());
  ASSERT_TRUE((*g)->SetLiteralArgument(d, 2, Argument::Bool(false)).ok());
  EXPECT_EQ(PrintNode(*d), "%d = aten.dropout.default(%x, 0.25, train=False)");
  EXPECT_THAT(x->uses(), ElementsAre(Use{d, 0}));
  // A node reference may neither be overwritten nor written.
  absl::Status st = (*g)->SetLiteralArgument(d, 0, Argument::Double(1.0));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("%d"));
  st = (*g)->SetLiteralArgument(d, 1, Argument::Ref(x));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  st = (*g)->SetLiteralArgument(d, 1, Argument::List({Argument::Ref(x)}));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*g)->SetLiteralArgument(d, 3, Argument::Int(1)).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(PrintNode(*d), "%d = aten.dropout.default(%x, 0.25, train=False)");
  EXPECT_TRUE(Verify(**g).ok());
}

TEST(GraphTest, RenameKeepsLookupsInSync) {
  std::unique_ptr<Graph> g = Parse(kChain);
  Node* a = g->FindNode("a");
  ASSERT_TRUE(g->Rename(a, "relu").ok());
  EXPECT_EQ(g->FindNode("a"), nullptr);
  EXPECT_EQ(g->FindNode("relu"), a);
  EXPECT_EQ(PrintNode(*g->FindNode("b")), "%b = aten.neg.default(%relu)");
  EXPECT_EQ(g->Rename(a, "b").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(g->Rename(a, "").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(g->Rename(a, "relu").ok());
  // The freed name can be reused; derived names avoid the new one.
  EXPECT_TRUE(g->Append(Call("aten.relu.default", {}, "a")).ok());
  absl::StatusOr<Node*> derived = g->AddCall("aten.relu.default", {});
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ((*derived)->name(), "relu_1");
}

// A node stores one argument, operand and use inline and moves to the heap
// past that; edges must survive every transition in both directions.
TEST(GraphTest, EdgesSurviveInlineAndHeapStorage) {
  std::unique_ptr<Graph> g = Parse(kChain);
  Node* x = g->FindNode("x");
  Node* a = g->FindNode("a");
  Node* b = g->FindNode("b");
  EXPECT_TRUE(x->is_placeholder());
  EXPECT_EQ(x->target().qualified, "x");
  EXPECT_TRUE(a->is_call());
  EXPECT_EQ(a->target().qualified, "aten.relu.default");
  EXPECT_NE(a->target_key(), nullptr);
  EXPECT_TRUE(g->output()->is_output());

  std::vector<Node*> extra;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Node*> n = g->InsertBefore(b, Call("aten.exp.default",
                                                      {Argument::Ref(x)}));
    ASSERT_TRUE(n.ok());
    extra.push_back(*n);
  }
  EXPECT_EQ(x->num_uses(), 6u);
  for (Node* n : extra) ASSERT_TRUE(g->Erase(n).ok());
  EXPECT_THAT(x->uses(), ElementsAre(Use{a, 0}));

  ASSERT_TRUE(g->SetArguments(b, {Argument::Ref(a), Argument::Int(2),
                                  Argument::Ref(x)},
                              {{"other", Argument::Ref(a)}})
                  .ok());
  EXPECT_EQ(b->num_operands(), 3u);
  ASSERT_TRUE(g->ReplaceInput(b, 2, x).ok());
  EXPECT_EQ(PrintNode(*b), "%b = aten.neg.default(%a, 2, %x, other=%x)");
  EXPECT_THAT(x->uses(), UnorderedElementsAre(Use{a, 0}, Use{b, 1},
                                              Use{b, 2}));
  ASSERT_TRUE(g->ReplaceAllUsesWith(a, x).ok());
  EXPECT_EQ(PrintNode(*b), "%b = aten.neg.default(%x, 2, %x, other=%x)");
  EXPECT_THAT(x->uses(), UnorderedElementsAre(Use{a, 0}, Use{b, 0}, Use{b, 1},
                                              Use{b, 2}));
  std::unique_ptr<Graph> copy = g->Clone();
  EXPECT_TRUE(GraphsStructurallyEqual(*g, *copy));

  ASSERT_TRUE(g->SetArguments(b, {Argument::Ref(a)}, {}).ok());
  EXPECT_EQ(PrintNode(*b), "%b = aten.neg.default(%a)");
  EXPECT_TRUE(b->kwargs().empty());
  EXPECT_THAT(x->uses(), ElementsAre(Use{a, 0}));
  EXPECT_THAT(a->uses(), ElementsAre(Use{b, 0}));
  ExpectValid(*g);
}

TEST(GraphTest, DeadCodeEliminationKeepsMutatingOps) {
  std::unique_ptr<Graph> g = Parse(R"IR(
    %x = placeholder
    %unused_input = placeholder
    %n = placeholder
    %rm = placeholder
    %d1 = aten.relu.default(%x)
    %d2 = aten.neg.default(%d1)
    %d3 = aten.exp.default(%d2)
    %drop_ = aten.dropout_.default(%x, 0.5, True)
    %copy_ = aten.copy_.default(%rm, %x)
    %add_ = aten.add_.Tensor(%n, 1)
    %e = aten.empty_like.default(%x)
    %bern = aten.bernoulli_.float(%e, 0.5)
    %live = aten.sigmoid.default(%x)
    %inplace_unknown_ = my.thing_.default(%x)
    %pure_unknown = my.thing.default(%x)
    %d4 = aten.relu.default(%live)
    return (%live,)
  )IR");
  EXPECT_EQ(g->EliminateDeadCode(), 5u);  // d1, d2, d3 in one sweep, d4, pure_unknown
  EXPECT_THAT(Order(*g),
              ElementsAre("x", "unused_input", "n", "rm", "drop_", "copy_",
                          "add_", "e", "bern", "live", "inplace_unknown_",
                          "output"));
  EXPECT_EQ(g->EliminateDeadCode(), 0u);
  ExpectValid(*g);
}

TEST(GraphTest, NodesWithTargetInGraphOrder) {
  std::unique_ptr<Graph> g = Parse(R"IR(
    %x = placeholder
    %r1 = aten.relu.default(%x)
    %r2 = aten.relu.default(%r1)
    return (%r2,)
  )IR");
  Node* r1 = g->FindNode("r1");
  Node* r2 = g->FindNode("r2");
  ASSERT_TRUE(g->InsertBefore(r1, Call("aten.relu.default", {Argument::Ref(g->FindNode("x"))}, "r0")).ok());
  ASSERT_TRUE(g->InsertAfter(r1, Call("aten.relu.default", {Argument::Ref(r1)}, "r1b")).ok());
  ASSERT_TRUE(g->InsertAfter(r2, Call("torch.ops.aten.relu.default", {Argument::Ref(r2)}, "r3")).ok());
  EXPECT_THAT(Names(g->NodesWithTarget("aten.relu.default")),
              ElementsAre("r0", "r1", "r1b", "r2", "r3"));
  EXPECT_EQ(g->CountTarget("aten.relu.default"), 5u);
  EXPECT_TRUE(g->NodesWithTarget("aten.neg.default").empty());
  ASSERT_TRUE(g->Erase(g->FindNode("r3")).ok());
  EXPECT_THAT(Names(g->NodesWithTarget("aten.relu.default")),
              ElementsAre("r0", "r1", "r1b", "r2"));
  EXPECT_THAT(g->CallTargets(), ElementsAre("aten.relu.default"));
}

TEST(GraphTest, OrderKeysSurviveManyMidInsertions) {
  std::unique_ptr<Graph> g = Parse(kChain);
  Node* x = g->FindNode("x");
  Node* a = g->FindNode("a");
  // Always insert right after %x: the gap before %a halves each time, so the
  // keys run out and the graph must renumber.
  std::vector<Node*> inserted;
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<Node*> n = g->InsertAfter(x, Call("aten.relu.default", {Argument::Ref(x)}));
    ASSERT_TRUE(n.ok());
    inserted.push_back(*n);
    // Interleave queries so renumbering happens lazily mid-sequence.
    if (i % 7 == 0) {
      EXPECT_TRUE((*n)->IsBefore(a));
      EXPECT_TRUE(x->IsBefore(*n));
    }
  }
  // Later insertions sit closer to %x.
  for (size_t i = 1; i < inserted.size(); ++i) {
    EXPECT_TRUE(inserted[i]->IsBefore(inserted[i - 1])) << i;
    EXPECT_FALSE(inserted[i - 1]->IsBefore(inserted[i])) << i;
  }
  // Insert before the same node repeatedly too.
  Node* pos = a;
  for (int i = 0; i < 200; ++i) {
    pos = *g->InsertBefore(pos, Call("aten.neg.default", {Argument::Ref(x)}));
  }
  std::vector<Node*> all;
  for (Node* n : *g) all.push_back(n);
  for (size_t i = 1; i < all.size(); ++i) {
    ASSERT_TRUE(all[i - 1]->IsBefore(all[i])) << i;
  }
  ExpectValid(*g);
}

TEST(GraphTest, UniqueNameFollowsFx) {
  std::unique_ptr<Graph> g = Parse(R"IR(
    %add = placeholder
    %add_1 = placeholder
    %x = placeholder
    return (%x,)
  )IR");
  EXPECT_EQ(g->UniqueName("x_9"), "x_9");
  EXPECT_EQ(g->UniqueName("add"), "add_2");
  // UniqueName does not reserve; a later call may skip ahead, but never
  // returns a taken name.
  std::string again = g->UniqueName("add_1");
  EXPECT_EQ(g->FindNode(again), nullptr);
  EXPECT_THAT(again, ::testing::StartsWith("add_"));
  EXPECT_EQ(g->UniqueName("a.b-c"), "a_b_c");
  EXPECT_EQ(g->UniqueName("1x"), "_1x");
  EXPECT_EQ(g->UniqueName(""), "node");
  // Generated names never collide, even across many creations.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(g->AddCall("aten.add.Tensor", {}).ok());
  }
  EXPECT_EQ(g->size(), 104u);
  EXPECT_EQ(g->CountTarget("aten.add.Tensor"), 100u);
  EXPECT_EQ(g->FindNode(g->UniqueName("add")), nullptr);
}

TEST(GraphTest, CloneIsStructurallyEqualAndIndependent) {
  std::unique_ptr<Graph> g = Parse(R"IR(
    %x : f32[2, 3]@cuda:0 = placeholder
    %w = get_attr[target=m.w]
    %a = aten.add.Tensor(%x, %x, alpha=2) {stack_trace="t\n"}
    %c = aten.cat.default([%a, %w], dim=0)
    return (%c, %a)
  )IR");
  std::unique_ptr<Graph> c = g->Clone();
  EXPECT_TRUE(GraphsStructurallyEqual(*g, *c));
  EXPECT_EQ(PrintGraph(*g), PrintGraph(*c));
  ExpectValid(*c);
  // Node references point into the clone, and uses were rebuilt there.
  Node* ca = c->FindNode("a");
  EXPECT_EQ(c->FindNode("c")->args()[0].as_list()[0].node(), ca);
  EXPECT_EQ(ca->num_uses(), 2u);
  ASSERT_TRUE(c->Rename(ca, "renamed").ok());
  EXPECT_NE(g->FindNode("a"), nullptr);
  EXPECT_FALSE(GraphsStructurallyEqual(*g, *c));
  EXPECT_EQ(c->NodesWithTarget("aten.add.Tensor").front(), ca);
}

TEST(GraphTest, MillionNodeChainDeadCodeAndDestruction) {
  Graph g;
  Node* prev = *g.AddPlaceholder("x");
  Node* x = prev;
  for (int i = 0; i < 1000000; ++i) {
    prev = *g.AddCall("aten.relu.default", {Argument::Ref(prev)});
  }
  ASSERT_TRUE(g.AddOutput({Argument::Ref(x)}).ok());
  EXPECT_EQ(g.EliminateDeadCode(), 1000000u);
  EXPECT_EQ(g.size(), 2u);
}

}  // namespace
}  // namespace rewire
