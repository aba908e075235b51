// tools/dot.h: op families, the training-form tag, the digraph text, and
// RenderDot's failures (no Graphviz binary) leaving the output untouched.
#include "tools/dot.h"

#include <fstream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ir/text_format.h"

namespace rewire {
namespace tools {
namespace {

std::unique_ptr<Graph> Parse(const char* text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *std::move(g) : std::make_unique<Graph>();
}

constexpr char kModel[] = R"(
  %x : f32[2, 3] = placeholder[target=x]
  %w : f32[3] = placeholder[target=w]
  %rm : f32[3] = placeholder[target=rm]
  %rv : f32[3] = placeholder[target=rv]
  %bn : f32[2, 3] = aten.batch_norm.default(%x, %w, None, %rm, %rv, True, 0.1, 1e-05, False)
  %r : f32[2, 3] = aten.relu.default(%bn)
  %d : f32[2, 3] = aten.dropout.default(%r, 0.5, False)
  %n : (f32[2, 3], b8[2, 3]) = aten.native_dropout.default(%d, 0.5, True)
  %g : f32[2, 3] = getitem(%n, 0)
  return (%g,)
)";

TEST(DotTest, FamiliesAndTrainingForm) {
  std::unique_ptr<Graph> g = Parse(kModel);
  EXPECT_EQ(OpFamily(*g->FindNode("x"), false), "input");
  EXPECT_EQ(OpFamily(*g->FindNode("w"), true), "state");
  EXPECT_EQ(OpFamily(*g->FindNode("bn"), false), "norm");
  EXPECT_EQ(OpFamily(*g->FindNode("r"), false), "activation");
  EXPECT_EQ(OpFamily(*g->FindNode("d"), false), "dropout");
  EXPECT_EQ(IsTrainingForm(*g->FindNode("bn")), true);
  EXPECT_EQ(IsTrainingForm(*g->FindNode("d")), false);
  EXPECT_EQ(IsTrainingForm(*g->FindNode("n")), true);
  EXPECT_EQ(IsTrainingForm(*g->FindNode("r")), std::nullopt);
}

TEST(DotTest, DigraphNamesEveryNodeAndTagsTrainingForms) {
  std::unique_ptr<Graph> g = Parse(kModel);
  const std::string dot =
      GraphToDot(*g, [](absl::string_view name) { return name == "w" || name == "rm" || name == "rv"; });
  EXPECT_TRUE(absl::StartsWith(dot, "digraph")) << dot;
  EXPECT_TRUE(absl::EndsWith(dot, "}\n")) << dot;
  for (const char* name : {"x", "w", "bn", "r", "d", "n", "g"}) {
    EXPECT_TRUE(absl::StrContains(dot, name)) << name;
  }
  // The batch norm and native_dropout run in training form; dropout(False)
  // does not.
  size_t tags = 0;
  for (size_t at = dot.find("TRAIN"); at != std::string::npos; at = dot.find("TRAIN", at + 1)) {
    ++tags;
  }
  EXPECT_EQ(tags, 2u) << dot;
  // Edges carry the producer's shape.
  EXPECT_TRUE(absl::StrContains(dot, "[2, 3]")) << dot;
}

TEST(DotTest, MissingGraphvizFailsAndLeavesTheOutputAlone) {
  const std::string out = std::string(getenv("TEST_TMPDIR")) + "/g.svg";
  { std::ofstream(out) << "old"; }
  absl::Status s = RenderDot("/nonexistent/dot", "digraph {}\n", "svg", out);
  EXPECT_FALSE(s.ok());
  std::ifstream in(out);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "old");
}

}  // namespace
}  // namespace tools
}  // namespace rewire
