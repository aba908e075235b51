// Tests of the graph verifier: valid graphs of each dialect pass; each
// problem class is reported with its node; all problems come in one status;
// a 1,000,000-node chain verifies in linear time.
#include "ir/verifier.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/graph.h"
#include "ir/text_format.h"

namespace rewire {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::unique_ptr<Graph> Parse(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return std::make_unique<Graph>();
  return *std::move(g);
}

std::vector<std::string> Problems(const Graph& g,
                                  const VerifyOptions& options = {}) {
  std::vector<std::string> out;
  for (const VerifierProblem& p : VerifyGraph(g, options)) {
    out.push_back(p.ToString());
  }
  return out;
}

TEST(VerifierTest, ValidGraphsPass) {
  std::unique_ptr<Graph> g = Parse(R"IR(
    %x : f32[1, 3, 4, 4] = placeholder
    %w : f32[3] = placeholder
    %n : i64[] = placeholder
    %add_ : i64[] = aten.add_.Tensor(%n, 1)
    %bn : f32[1, 3, 4, 4] = aten.batch_norm.default(%x, %w, None, None, None, True, 0.1, 1e-05, True)
    %nbn : (f32[1, 3, 4, 4], f32[3], f32[3]) = aten.native_batch_norm.default(%bn, %w, %w, None, None, True, 0.1, 1e-05)
    %getitem : f32[1, 3, 4, 4] = getitem(%nbn, 0)
    %last : f32[3] = getitem(%nbn, -1)
    %conv = aten.conv2d.default(%getitem, %w, None, 1, [0, 0])
    %pool = aten.max_pool2d.default(%conv, [2, 2])
    %split = aten.split.Tensor(%pool, 2)
    %s0 = getitem(%split, 5)
    %cat = aten.cat.default([%s0, %s0], dim=1)
    %e = aten.empty_like.default(%x, memory_format=torch.channels_last, dtype=torch.float16)
    %unknown = my.custom.op(%x, "anything", [1, [2]])
    return (%getitem, %last, %cat)
  )IR");
  EXPECT_THAT(Problems(*g), IsEmpty());
  EXPECT_TRUE(Verify(*g).ok());
  VerifyOptions strict;
  strict.report_unknown_ops = true;
  EXPECT_THAT(Problems(*g, strict),
              ElementsAre("%unknown: no schema registered for my.custom.op"));
}

TEST(VerifierTest, SchemaProblemsNameNodeAndArgument) {
  std::unique_ptr<Graph> g = Parse(R"IR(
    %x = placeholder
    %a = aten.dropout.default(%x, 0.5)
    %b = aten.dropout.default(%x, 0.5, True, False)
    %c = aten.dropout.default(%x, "half", 1)
    %d = aten.add.Tensor(%x, %x, beta=2)
    %f = aten.relu.default([1.5])
    %g = aten.conv2d.default(%x, %x, None, [1, 2.5])
    %h = aten.dropout.default(%x, 1, True)
    %i = aten.empty_like.default(%x, torch.float32)
    return (%a, %b, %c, %d, %f, %g, %h, %i)
  )IR");
  std::vector<std::string> p = Problems(*g);
  EXPECT_THAT(p, ElementsAre(
      HasSubstr("%a: aten.dropout.default: missing argument 'train'"),
      HasSubstr("%b: aten.dropout.default takes at most 3 positional"),
      HasSubstr("%c: aten.dropout.default: argument 'p' of type float does "
                "not accept str \"half\""),
      HasSubstr("%c: aten.dropout.default: argument 'train' of type bool does "
                "not accept int 1"),
      HasSubstr("%d: aten.add.Tensor has no argument named 'beta'"),
      HasSubstr("%f: aten.relu.default: argument 'self' of type Tensor does "
                "not accept list"),
      HasSubstr("%g: aten.conv2d.default: argument 'stride' of type int[2]"),
      HasSubstr("%i: aten.empty_like.default takes at most 1 positional")));
  absl::Status s = Verify(*g);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("8 problems"));
  EXPECT_THAT(s.message(), HasSubstr("\n  %g: "));
  VerifyOptions no_schemas;
  no_schemas.check_schemas = false;
  EXPECT_THAT(Problems(*g, no_schemas), IsEmpty());
  VerifyOptions capped;
  capped.max_problems = 2;
  EXPECT_EQ(Problems(*g, capped).size(), 2u);
}

TEST(VerifierTest, GetitemChecks) {
  std::unique_ptr<Graph> g = Parse(R"IR(
    %x = placeholder
    %nbn = aten.native_batch_norm.default(%x, None, None, None, None, True, 0.1, 1e-05)
    %ok = getitem(%nbn, 2)
    %hi = getitem(%nbn, 3)
    %lo = getitem(%nbn, -4)
    %kind = getitem(%nbn, 1.0)
    %arity = getitem(%nbn)
    %nodeless = getitem(1, 0)
    %tup : (f32[2], None) = my.multi.op(%x)
    %t1 = getitem(%tup, 1)
    %t2 = getitem(%tup, 2)
    %split : (f32[1], f32[1]) = aten.split.Tensor(%x, 1)
    %s2 = getitem(%split, 2)
    %opaque = my.other.op(%x)
    %anything = getitem(%opaque, 99)
    return (%ok,)
  )IR");
  EXPECT_THAT(Problems(*g),
              ElementsAre(
                  "%hi: getitem index 3 is out of range: %nbn has 3 outputs",
                  "%lo: getitem index -4 is out of range: %nbn has 3 outputs",
                  "%kind: getitem takes exactly (node, int) arguments",
                  "%arity: getitem takes exactly (node, int) arguments",
                  "%nodeless: getitem takes exactly (node, int) arguments",
                  "%t2: getitem index 2 is out of range: %tup has 2 outputs",
                  "%s2: getitem index 2 is out of range: %split has 2 outputs"));
}

TEST(VerifierTest, MetadataChecks) {
  std::unique_ptr<Graph> g = Parse(R"IR(
    %x : f32[2, -3] = placeholder
    %y : f32[2, 3]/[1] = placeholder
    %z : (f32[2], f32[-1]/[1, 1]) = placeholder
    %n : (f32[2], f32[2]) = aten.native_batch_norm.default(%x, None, None, None, None, True, 0.1, 1e-05)
    %ok : f32[s0, 2]/[2, 1]@cuda:0 = aten.relu.default(%x)
    return (%n,)
  )IR");
  EXPECT_THAT(Problems(*g),
              ElementsAre("%x: \"val\": dim 1 is negative (-3)",
                          "%y: \"val\": 1 strides for a rank-2 tensor",
                          "%z: \"val\"[1]: dim 0 is negative (-1)",
                          "%z: \"val\"[1]: 2 strides for a rank-1 tensor",
                          "%n: \"val\" has 2 entries but the op returns 3 values"));
  VerifyOptions no_meta;
  no_meta.check_metadata = false;
  EXPECT_THAT(Problems(*g, no_meta), IsEmpty());
}

TEST(VerifierTest, StructuralProblems) {
  // The text form and the Graph API allow placeholders anywhere and graphs
  // without an output; the verifier reports them.
  std::unique_ptr<Graph> g = Parse(R"IR(
    %x = placeholder
    %r = aten.relu.default(%x)
    %late = placeholder
    return (%r,)
  )IR");
  EXPECT_THAT(Problems(*g),
              ElementsAre("%late: placeholder after other nodes (placeholders "
                          "come first)"));
  Graph no_output;
  ASSERT_TRUE(no_output.AddPlaceholder("x").ok());
  EXPECT_THAT(Problems(no_output), ElementsAre("graph has no output node"));
  Graph empty;
  EXPECT_THAT(Problems(empty), ElementsAre("graph has no output node"));
}

TEST(VerifierTest, ReferencesToOtherGraphsAreReported) {
  // Such a graph cannot be built through the API (it refuses foreign
  // arguments); it is checked here by moving a node's argument list between
  // graphs through SetArguments' validation, which must refuse it.
  Graph a, b;
  Node* xa = *a.AddPlaceholder("x");
  Node* xb = *b.AddPlaceholder("x");
  Node* rb = *b.AddCall("aten.relu.default", {Argument::Ref(xb)});
  EXPECT_FALSE(b.SetArguments(rb, {Argument::Ref(xa)}, {}).ok());
  EXPECT_FALSE(b.AddCall("aten.relu.default", {Argument::Ref(xa)}).ok());
  ASSERT_TRUE(b.AddOutput({Argument::Ref(rb)}).ok());
  EXPECT_THAT(Problems(b), IsEmpty());
}

TEST(VerifierTest, MoveBeforeBreakingOrderIsReported) {
  // MoveBefore leaves order checks to the caller; the verifier catches a
  // use that now precedes its definition.
  std::unique_ptr<Graph> g = Parse(R"IR(
    %x = placeholder
    %a = aten.relu.default(%x)
    %b = aten.relu.default(%a)
    return (%b,)
  )IR");
  g->MoveBefore(g->FindNode("b"), g->FindNode("a"));
  EXPECT_THAT(Problems(*g),
              ElementsAre("%b: argument %a is defined after its use"));
  // Moving a node after the output is reported too.
  std::unique_ptr<Graph> h = Parse(R"IR(
    %x = placeholder
    %a = aten.relu.default(%x)
    return (%a,)
  )IR");
  h->MoveBefore(h->output(), h->FindNode("a"));
  EXPECT_THAT(Problems(*h),
              ElementsAre("%output: output node is not the last node",
                          "%output: argument %a is defined after its use"));
}

TEST(VerifierTest, MillionNodeChainIsLinear) {
  constexpr int kChain = 1000000;
  Graph g;
  Node* prev = *g.AddPlaceholder("x");
  for (int i = 0; i < kChain; ++i) {
    prev = *g.AddCall("aten.add.Tensor", {Argument::Ref(prev), Argument::Ref(prev)},
                      {{"alpha", Argument::Int(1)}});
  }
  ASSERT_TRUE(g.AddOutput({Argument::Ref(prev)}).ok());
  EXPECT_TRUE(Verify(g).ok());
  // A million problems are all returned; the status message stays short.
  VerifyOptions strict;
  strict.report_unknown_ops = true;
  Graph h;
  Node* p = *h.AddPlaceholder("x");
  for (int i = 0; i < kChain; ++i) p = *h.AddCall("my.op.x", {Argument::Ref(p)});
  ASSERT_TRUE(h.AddOutput({Argument::Ref(p)}).ok());
  EXPECT_EQ(VerifyGraph(h, strict).size(), static_cast<size_t>(kChain));
  absl::Status s = Verify(h, strict);
  EXPECT_THAT(s.message(), HasSubstr("and 999950 more"));
  EXPECT_LT(s.message().size(), 10000u);
}

}  // namespace
}  // namespace rewire
