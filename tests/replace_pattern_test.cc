// Tests of ReplacePatternWithFilters: torch.fx's subgraph rewriter scenarios
// (SEMANTICS.md §5-6) and rewire's additions (literal carry-over, metadata,
// filters before overlap removal, use-before-def, all-or-nothing).
#include "rewrite/replace_pattern.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/graph.h"
#include "ir/text_format.h"
#include "ir/verifier.h"

namespace rewire {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::unique_ptr<Graph> G(const std::string& text) {
  auto g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : std::make_unique<Graph>();
}

// The graph printed, then parsed and printed again by a fresh parse of the
// expected text, so whitespace in expectations does not matter.
std::string Canon(const std::string& text) { return PrintGraph(*G(text)); }

ReplaceResult Replace(Graph& g, const Graph& p, const Graph& r,
                      ReplaceOptions options = {}) {
  auto result = ReplacePatternWithFilters(g, p, r, options);
  EXPECT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(Verify(g).ok()) << Verify(g);
  return result.ok() ? std::move(*result) : ReplaceResult();
}

TEST(ReplacePatternTest, OneLinerReplacesEveryMatch) {
  auto g = G(R"(
    %x = placeholder
    %a = aten.relu.default(%x)
    %b = aten.sigmoid.default(%a)
    %c = aten.relu.default(%b)
    return (%c,)
  )");
  auto p = G("%x = placeholder\n%r = aten.relu.default(%x)\nreturn (%r,)\n");
  auto r = G("%x = placeholder\n%t = aten.tanh.default(%x)\nreturn (%t,)\n");
  ReplaceResult res = Replace(*g, *p, *r);
  ASSERT_THAT(res.replaced, SizeIs(2));
  EXPECT_EQ(res.replaced[0].anchor, "a");
  ASSERT_THAT(res.replaced[0].replacements, SizeIs(1));
  EXPECT_EQ(res.replaced[0].replacements[0]->target().qualified,
            "aten.tanh.default");
  EXPECT_EQ(g->CountTarget("aten.relu.default"), 0u);
  EXPECT_EQ(g->CountTarget("aten.tanh.default"), 2u);
  // The replacements list is exactly the new nodes.
  EXPECT_EQ(res.replaced[1].replacements[0]->operand(0)->target().qualified,
            "aten.sigmoid.default");
}

TEST(ReplacePatternTest, PatternReplacedByItselfPreservesTheGraph) {
  const char* text = R"(
    %x : f32[2] = placeholder
    %a : f32[2] = aten.relu.default(%x)
    %b : f32[2] = aten.sigmoid.default(%a)
    return (%b,)
  )";
  auto g = G(text);
  auto p = G("%x = placeholder\n%r = aten.relu.default(%x)\nreturn (%r,)\n");
  Replace(*g, *p, *p);
  EXPECT_EQ(PrintGraph(*g), Canon(text));
}

TEST(ReplacePatternTest, ConsecutiveMatchesBackToBack) {
  auto g = G(R"(
    %x = placeholder
    %a = aten.relu.default(%x)
    %b = aten.relu.default(%a)
    %c = aten.relu.default(%b)
    return (%c,)
  )");
  auto p = G("%x = placeholder\n%r = aten.relu.default(%x)\nreturn (%r,)\n");
  auto r = G("%x = placeholder\n%t = aten.tanh.default(%x)\nreturn (%t,)\n");
  EXPECT_THAT(Replace(*g, *p, *r).replaced, SizeIs(3));
  // Each replacement feeds the next: the chain is intact.
  Node* out = g->output()->operand(0);
  EXPECT_EQ(out->target().qualified, "aten.tanh.default");
  EXPECT_EQ(out->operand(0)->operand(0)->operand(0)->name(), "x");
}

TEST(ReplacePatternTest, MultipleOutputsArePairedByPosition) {
  auto g = G(R"(
    %x = placeholder
    %a = aten.relu.default(%x)
    %b = aten.sigmoid.default(%a)
    %u = aten.add.Tensor(%a, %b)
    return (%u,)
  )");
  auto p = G(R"(
    %x = placeholder
    %a = aten.relu.default(%x)
    %b = aten.sigmoid.default(%a)
    return (%a, %b)
  )");
  auto r = G(R"(
    %x = placeholder
    %a = aten.tanh.default(%x)
    %b = aten.neg.default(%a)
    return (%a, %b)
  )");
  ASSERT_THAT(Replace(*g, *p, *r).replaced, SizeIs(1));
  Node* add = g->output()->operand(0);
  EXPECT_EQ(add->operand(0)->target().qualified, "aten.tanh.default");
  EXPECT_EQ(add->operand(1)->target().qualified, "aten.neg.default");
}

TEST(ReplacePatternTest, ReplacementMayReturnItsInput) {
  // The make_fx eval dropout: nothing at all.
  auto g = G(R"(
    %x = placeholder
    %e = aten.empty_like.default(%x, memory_format=torch.contiguous_format)
    %b = aten.bernoulli_.float(%e, 0.5)
    %d = aten.div_.Scalar(%b, 0.5)
    %m = aten.mul.Tensor(%x, %d)
    %r = aten.relu.default(%m)
    return (%r,)
  )");
  auto p = G(R"(
    %x = placeholder
    %e = aten.empty_like.default(%x, memory_format=torch.contiguous_format)
    %b = aten.bernoulli_.float(%e, 0.5)
    %d = aten.div_.Scalar(%b, 0.5)
    %m = aten.mul.Tensor(%x, %d)
    return (%m,)
  )");
  auto r = G("%x = placeholder\nreturn (%x,)\n");
  ASSERT_THAT(Replace(*g, *p, *r).replaced, SizeIs(1));
  EXPECT_EQ(PrintGraph(*g), Canon(R"(
    %x = placeholder
    %r = aten.relu.default(%x)
    return (%r,)
  )"));
}

TEST(ReplacePatternTest, KwargsAndUnusedReplacementArgs) {
  auto g = G(R"(
    %x = placeholder
    %y = placeholder
    %s = aten.add.Tensor(%x, %y, alpha=2)
    return (%s,)
  )");
  auto p = G(R"(
    %x = placeholder
    %y = placeholder
    %s = aten.add.Tensor(%x, %y, alpha=2)
    return (%s,)
  )");
  auto r = G(R"(
    %x = placeholder
    %y = placeholder
    %s = aten.mul.Tensor(%x, %x)
    return (%s,)
  )");
  ASSERT_THAT(Replace(*g, *p, *r).replaced, SizeIs(1));
  EXPECT_EQ(g->CountTarget("aten.mul.Tensor"), 1u);
}

TEST(ReplacePatternTest, ListPlaceholdersAreRemappedAfterEarlierReplacements) {
  // The second match binds a list holding the first match's output.
  auto g = G(R"(
    %x = placeholder
    %a = aten.relu.default(%x)
    %c = aten.cat.default([%a, %x], 0)
    %d = aten.relu.default(%c)
    return (%d,)
  )");
  auto p = G("%x = placeholder\n%r = aten.relu.default(%x)\nreturn (%r,)\n");
  auto r = G("%x = placeholder\n%t = aten.tanh.default(%x)\nreturn (%t,)\n");
  Replace(*g, *p, *r);
  auto p2 = G(R"(
    %l = placeholder
    %c = aten.cat.default(%l, 0)
    return (%c,)
  )");
  auto r2 = G(R"(
    %l = placeholder
    %c = aten.cat.default(%l, 1)
    return (%c,)
  )");
  ASSERT_THAT(Replace(*g, *p2, *r2).replaced, SizeIs(1));
  Node* cat = g->NodesWithTarget("aten.cat.default")[0];
  EXPECT_EQ(cat->args()[1], Argument::Int(1));
  EXPECT_EQ(cat->operand(0)->target().qualified, "aten.tanh.default");
}

TEST(ReplacePatternTest, FiltersRunBeforeOverlapRemoval) {
  // Sigmoids s1..s3; pattern of two. Matches (s1,s2) and (s2,s3) overlap.
  // A filter rejecting (s1,s2) must let (s2,s3) through (upstream would
  // drop both).
  auto g = G(R"(
    %x = placeholder
    %s1 = aten.sigmoid.default(%x)
    %s2 = aten.sigmoid.default(%s1)
    %s3 = aten.sigmoid.default(%s2)
    return (%s3,)
  )");
  auto p = G(R"(
    %x = placeholder
    %a = aten.sigmoid.default(%x)
    %b = aten.sigmoid.default(%a)
    return (%b,)
  )");
  auto r = G("%x = placeholder\n%t = aten.tanh.default(%x)\nreturn (%t,)\n");
  ReplaceOptions options;
  options.filters.push_back(
      [](const InternalMatch& m, const Graph&, const Graph&) {
        return m.GraphAnchor()->name() != "s2";
      });
  ReplaceResult res = Replace(*g, *p, *r, options);
  ASSERT_THAT(res.replaced, SizeIs(1));
  EXPECT_EQ(res.replaced[0].anchor, "s3");
  EXPECT_EQ(res.rejected_by_filters, 1);
  EXPECT_EQ(g->output()->operand(0)->operand(0)->name(), "s1");
}

TEST(ReplacePatternTest, NewNodesKeepTheReplacedNodesMetadataAndName) {
  auto g = G(R"(
    %x : f32[8, 3] = placeholder
    %d : f32[8, 3] = aten.dropout.default(%x, 0.25, True) {stack_trace="model.py:7", nn_module_stack="drop"}
    return (%d,)
  )");
  auto p = G(R"(
    %x : f32[1] = placeholder
    %d : f32[1] = aten.dropout.default(%x, 0.5, True)
    return (%d,)
  )");
  auto r = G(R"(
    %x : f32[1] = placeholder
    %d : f32[1] = aten.dropout.default(%x, 0.5, False)
    return (%d,)
  )");
  ReplaceOptions options;
  options.ignore_literals = true;
  options.preserve_literals = true;
  options.preserve_except = {"train"};
  Replace(*g, *p, *r, options);
  // p survives (upstream resets it to 0.5), train flips, metadata and name
  // stay the model's.
  EXPECT_EQ(PrintGraph(*g), Canon(R"(
    %x : f32[8, 3] = placeholder
    %d : f32[8, 3] = aten.dropout.default(%x, 0.25, False) {stack_trace="model.py:7", nn_module_stack="drop"}
    return (%d,)
  )"));
}

TEST(ReplacePatternTest, LiteralsCarryByArgumentNameAcrossDifferentOps) {
  auto g = G(R"(
    %x = placeholder
    %w = placeholder
    %b = placeholder
    %rm = placeholder
    %rv = placeholder
    %bn = aten._native_batch_norm_legit.default(%x, %w, %b, %rm, %rv, True, 0.03, 0.001)
    %g = getitem(%bn, 0)
    return (%g,)
  )");
  auto p = G(R"(
    %x = placeholder
    %w = placeholder
    %b = placeholder
    %rm = placeholder
    %rv = placeholder
    %bn = aten._native_batch_norm_legit.default(%x, %w, %b, %rm, %rv, True, 0.1, 1e-05)
    %g = getitem(%bn, 0)
    return (%g,)
  )");
  auto r = G(R"(
    %x = placeholder
    %w = placeholder
    %b = placeholder
    %rm = placeholder
    %rv = placeholder
    %bn = aten._native_batch_norm_legit_no_training.default(%x, %w, %b, %rm, %rv, 0.1, 1e-05)
    %g = getitem(%bn, 0)
    return (%g,)
  )");
  ReplaceOptions options;
  options.ignore_literals = true;
  options.preserve_literals = true;
  options.preserve_except = {"training"};
  Replace(*g, *p, *r, options);
  Node* bn = g->NodesWithTarget(
      "aten._native_batch_norm_legit_no_training.default")[0];
  EXPECT_EQ(bn->args()[5], Argument::Double(0.03));
  EXPECT_EQ(bn->args()[6], Argument::Double(0.001));
  // getitem kept its name: the op did not change.
  EXPECT_NE(g->FindNode("g"), nullptr);
}

TEST(ReplacePatternTest, ExplicitLiteralBinding) {
  auto g = G(R"(
    %x = placeholder
    %d = aten.dropout.default(%x, 0.3, True)
    return (%d,)
  )");
  auto p = G(R"(
    %x = placeholder
    %d = aten.dropout.default(%x, 0.5, True)
    return (%d,)
  )");
  auto r = G(R"(
    %x = placeholder
    %n = aten.native_dropout.default(%x, 0.5, True)
    %g = getitem(%n, 0)
    return (%g,)
  )");
  ReplaceOptions options;
  options.ignore_literals = true;
  options.literal_bindings.push_back({"n", "p", "d", "p"});
  Replace(*g, *p, *r, options);
  Node* n = g->NodesWithTarget("aten.native_dropout.default")[0];
  EXPECT_EQ(n->args()[1], Argument::Double(0.3));
}

constexpr char kDropoutTrain[] =
    "%x = placeholder\n%d = aten.dropout.default(%x, 0.5, True)\nreturn (%d,)\n";
constexpr char kDropoutEval[] =
    "%x = placeholder\n%d = aten.dropout.default(%x, 0.5, False)\nreturn (%d,)\n";

// A same-op, one-node replacement is applied in place: the node keeps its
// identity, name and metadata, literals are carried and the flag flips,
// whether it was given by position or by keyword (the node then takes the
// replacement's positional spelling).
TEST(ReplacePatternTest, InPlaceFlipKeepsNodesAndCarriesLiterals) {
  auto g = G(R"(
    %x : f32[4] = placeholder
    %a : f32[4] = aten.dropout.default(%x, 0.1, True)
    %r : f32[4] = aten.relu.default(%a)
    %b : f32[4] = aten.dropout.default(%r, 0.7, train=True)
    %c : f32[4] = aten.dropout.default(%b, 0.2, False)
    return (%c,)
  )");
  Node* a = g->FindNode("a");
  Node* b = g->FindNode("b");
  auto p = G(kDropoutTrain);
  auto r = G(kDropoutEval);
  ReplaceOptions options;
  options.ignore_literals = true;
  options.preserve_literals = true;
  options.preserve_except = {"train"};
  // Only sites in training mode: %c is already in eval.
  options.filters.push_back([](const InternalMatch& m, const Graph&, const Graph&) {
    const MatchedLiteral* train = m.FindLiteral("d", "train");
    return train != nullptr && train->graph_value == Argument::Bool(true);
  });
  ReplaceResult res = Replace(*g, *p, *r, options);
  ASSERT_THAT(res.replaced, SizeIs(2));
  EXPECT_EQ(res.rejected_by_filters, 1);
  EXPECT_EQ(res.replaced[0].anchor, "a");
  EXPECT_EQ(res.replaced[1].anchor, "b");
  EXPECT_THAT(res.replaced[0].replacements, ElementsAre(a));
  EXPECT_THAT(res.replaced[1].replacements, ElementsAre(b));
  ASSERT_THAT(res.replaced[0].nodes_map, SizeIs(2));
  EXPECT_EQ(res.replaced[0].nodes_map[1], (std::pair<std::string, std::string>("d", "a")));
  EXPECT_EQ(g->FindNode("a"), a);
  EXPECT_EQ(PrintGraph(*g), Canon(R"(
    %x : f32[4] = placeholder
    %a : f32[4] = aten.dropout.default(%x, 0.1, False)
    %r : f32[4] = aten.relu.default(%a)
    %b : f32[4] = aten.dropout.default(%r, 0.7, False)
    %c : f32[4] = aten.dropout.default(%b, 0.2, False)
    return (%c,)
  )"));
  EXPECT_EQ(g->FindNode("b"), b);
}

// An in-place replacement that rewires operands (not just literals) is
// applied after every match was checked, with the users kept in sync.
TEST(ReplacePatternTest, InPlaceReplacementMayRewireOperands) {
  auto g = G(R"(
    %x = placeholder
    %y = placeholder
    %s = aten.sub.Tensor(%x, %y)
    %t = aten.sub.Tensor(%s, %x)
    return (%t,)
  )");
  auto p = G("%a = placeholder\n%b = placeholder\n"
             "%s = aten.sub.Tensor(%a, %b)\nreturn (%s,)\n");
  auto r = G("%a = placeholder\n%b = placeholder\n"
             "%s = aten.sub.Tensor(%b, %a)\nreturn (%s,)\n");
  Node* s = g->FindNode("s");
  ReplaceResult res = Replace(*g, *p, *r);
  ASSERT_THAT(res.replaced, SizeIs(2));
  EXPECT_EQ(g->FindNode("s"), s);
  EXPECT_EQ(PrintGraph(*g), Canon(R"(
    %x = placeholder
    %y = placeholder
    %s = aten.sub.Tensor(%y, %x)
    %t = aten.sub.Tensor(%x, %s)
    return (%t,)
  )"));
  EXPECT_THAT(s->Users(), ElementsAre(g->FindNode("t")));
}

TEST(ReplacePatternTest, InPlaceLiteralBindingErrorLeavesGraphUnchanged) {
  const char* text = R"(
    %x = placeholder
    %a = aten.dropout.default(%x, 0.1, True)
    %b = aten.dropout.default(%a, 0.3, True)
    return (%b,)
  )";
  auto g = G(text);
  auto p = G(kDropoutTrain);
  auto r = G(kDropoutEval);
  ReplaceOptions options;
  options.ignore_literals = true;
  options.literal_bindings.push_back({"d", "p", "d", "no_such_arg"});
  auto res = ReplacePatternWithFilters(*g, *p, *r, options);
  ASSERT_FALSE(res.ok());
  EXPECT_THAT(res.status().message(), HasSubstr("no_such_arg"));
  EXPECT_EQ(PrintGraph(*g), Canon(text));
}

TEST(ReplacePatternTest, WrongOutputCountFailsAndLeavesGraphUnchanged) {
  const char* text = R"(
    %x = placeholder
    %a = aten.relu.default(%x)
    return (%a,)
  )";
  auto g = G(text);
  auto p = G("%x = placeholder\n%r = aten.relu.default(%x)\nreturn (%r,)\n");
  auto r = G(R"(
    %x = placeholder
    %a = aten.tanh.default(%x)
    %b = aten.neg.default(%x)
    return (%a, %b)
  )");
  auto res = ReplacePatternWithFilters(*g, *p, *r);
  ASSERT_FALSE(res.ok());
  EXPECT_THAT(res.status().message(), HasSubstr("returns 2 values"));
  EXPECT_EQ(PrintGraph(*g), Canon(text));
}

TEST(ReplacePatternTest, FailingReplacementCallbackLeavesGraphUnchanged) {
  std::string text = "%x = placeholder\n";
  std::string prev = "x";
  for (int i = 0; i < 5; ++i) {
    std::string n = "r" + std::to_string(i);
    text += "%" + n + " = aten.relu.default(%" + prev + ")\n";
    prev = n;
  }
  text += "return (%" + prev + ",)\n";
  auto g = G(text);
  const std::string before = PrintGraph(*g);
  auto p = G("%x = placeholder\n%r = aten.relu.default(%x)\nreturn (%r,)\n");
  int calls = 0;
  ReplacementFn fn = [&](const InternalMatch&, const Graph&)
      -> absl::StatusOr<std::unique_ptr<Graph>> {
    if (++calls == 3) return absl::InvalidArgumentError("third one fails");
    return ParseGraph("%x = placeholder\n%t = aten.tanh.default(%x)\nreturn (%t,)\n");
  };
  auto res = ReplacePatternWithFilters(*g, *p, fn);
  ASSERT_FALSE(res.ok());
  EXPECT_THAT(res.status().message(), HasSubstr("third one fails"));
  EXPECT_EQ(PrintGraph(*g), before);
}

// A callback may hand the same graph to every match (memoized replacements);
// each match still gets its own copy in the graph, and a null graph is an
// error that changes nothing.
TEST(ReplacePatternTest, CallbackMayShareOneReplacementGraph) {
  const char* text = R"(
    %x = placeholder
    %a = aten.relu.default(%x)
    %b = aten.relu.default(%a)
    %c = aten.relu.default(%b)
    return (%c,)
  )";
  auto g = G(text);
  auto p = G("%x = placeholder\n%r = aten.relu.default(%x)\nreturn (%r,)\n");
  std::shared_ptr<const Graph> shared =
      G("%x = placeholder\n%t = aten.tanh.default(%x)\nreturn (%t,)\n");
  int calls = 0;
  ReplacementFn fn = [&](const InternalMatch&, const Graph&)
      -> absl::StatusOr<std::shared_ptr<const Graph>> {
    ++calls;
    return shared;
  };
  auto res = ReplacePatternWithFilters(*g, *p, fn);
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(calls, 3);
  ASSERT_THAT(res->replaced, SizeIs(3));
  EXPECT_EQ(g->CountTarget("aten.tanh.default"), 3u);
  EXPECT_EQ(g->CountTarget("aten.relu.default"), 0u);
  EXPECT_TRUE(Verify(*g).ok());

  auto g2 = G(text);
  ReplacementFn null_fn = [](const InternalMatch&, const Graph&)
      -> absl::StatusOr<std::shared_ptr<const Graph>> { return nullptr; };
  auto bad = ReplacePatternWithFilters(*g2, *p, null_fn);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("no graph"));
  EXPECT_EQ(PrintGraph(*g2), Canon(text));
}

TEST(ReplacePatternTest, MultiOutputMatchWithDataDependencyIsSkipped) {
  // The replacement would go before %u, the first user of returning node %a,
  // but its input %y is only defined after %u: upstream would emit a use
  // before definition.
  auto g = G(R"(
    %x = placeholder
    %x2 = placeholder
    %a = aten.relu.default(%x)
    %u = aten.neg.default(%a)
    %y = aten.tanh.default(%x2)
    %b = aten.add.Tensor(%a, %y)
    return (%b, %u)
  )");
  auto p = G(R"(
    %x = placeholder
    %y = placeholder
    %a = aten.relu.default(%x)
    %b = aten.add.Tensor(%a, %y)
    return (%a, %b)
  )");
  auto r = G(R"(
    %x = placeholder
    %y = placeholder
    %a = aten.sigmoid.default(%x)
    %b = aten.mul.Tensor(%a, %y)
    return (%a, %b)
  )");
  ReplaceResult res = Replace(*g, *p, *r);
  EXPECT_THAT(res.replaced, SizeIs(0));
  ASSERT_THAT(res.skipped, SizeIs(1));
  EXPECT_THAT(res.skipped[0].reason, HasSubstr("%y"));
  EXPECT_EQ(g->CountTarget("aten.relu.default"), 1u);
}

TEST(ReplacePatternTest, MatchCreatingACycleThroughOutsideNodeIsNotApplied) {
  auto g = G(R"(
    %x = placeholder
    %a = aten.relu.default(%x)
    %u = aten.neg.default(%a)
    %y = aten.tanh.default(%u)
    %b = aten.add.Tensor(%a, %y)
    return (%b,)
  )");
  auto p = G(R"(
    %x = placeholder
    %y = placeholder
    %a = aten.relu.default(%x)
    %b = aten.add.Tensor(%a, %y)
    return (%a, %b)
  )");
  auto r = G(R"(
    %x = placeholder
    %y = placeholder
    %a = aten.sigmoid.default(%x)
    %b = aten.mul.Tensor(%a, %y)
    return (%a, %b)
  )");
  const std::string before = PrintGraph(*g);
  ReplaceResult res = Replace(*g, *p, *r);
  EXPECT_THAT(res.replaced, SizeIs(0));
  EXPECT_EQ(PrintGraph(*g), before);
}

TEST(ReplacePatternTest, UnusedResultsOfMultiOutputReplacement) {
  auto g = G(R"(
    %x = placeholder
    %n = aten.native_dropout.default(%x, 0.5, True)
    %g = getitem(%n, 0)
    return (%g,)
  )");
  auto p = G(R"(
    %x = placeholder
    %n = aten.native_dropout.default(%x, 0.5, True)
    %g = getitem(%n, 0)
    return (%g,)
  )");
  auto r = G(R"(
    %x = placeholder
    %c = aten.clone.default(%x)
    return (%c,)
  )");
  Replace(*g, *p, *r);
  EXPECT_EQ(g->CountTarget("aten.native_dropout.default"), 0u);
  EXPECT_EQ(g->CountTarget("aten.clone.default"), 1u);
}

TEST(ReplacePatternTest, InvalidReplacementIsRefusedBeforeAnyChange) {
  const char* text = R"(
    %x = placeholder
    %a = aten.relu.default(%x)
    return (%a,)
  )";
  auto g = G(text);
  auto p = G("%x = placeholder\n%r = aten.relu.default(%x)\nreturn (%r,)\n");
  // getitem 5 of a 2-output op.
  auto r = G(R"(
    %x = placeholder
    %n = aten.native_dropout.default(%x, 0.5, True)
    %g = getitem(%n, 5)
    return (%g,)
  )");
  auto res = ReplacePatternWithFilters(*g, *p, *r);
  ASSERT_FALSE(res.ok());
  EXPECT_THAT(res.status().message(), HasSubstr("invalid replacement"));
  EXPECT_EQ(PrintGraph(*g), Canon(text));
}

}  // namespace
}  // namespace rewire
