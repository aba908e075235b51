#include "pt2/pt2_writer.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/graph.h"
#include "ir/serialization.h"
#include "ir/text_format.h"
#include "ir/verifier.h"
#include "nlohmann/json.hpp"
#include "pt2/pt2_reader.h"
#include "pt2/zip_archive.h"
#include "rewrite/train_eval.h"
#include "tests/test_files.h"
#include "tools/synthetic_model.h"

namespace rewire {
namespace pt2 {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr char kDir[] = "tests/testdata/pt2/";

std::string Bytes(const std::string& file) {
  absl::StatusOr<std::string> b = ReadFileToString(kDir + file);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *b : "";
}

std::map<std::string, std::string> Entries(const std::string& archive) {
  absl::StatusOr<ZipReader> r = ZipReader::Open(archive, "archive");
  EXPECT_TRUE(r.ok()) << r.status();
  std::map<std::string, std::string> out;
  if (!r.ok()) return out;
  for (const std::string& n : r->names()) out[n] = *r->Read(n);
  return out;
}

// Entries equal as bytes, or as JSON values for .json entries (key order
// is not part of the format).
bool SameEntry(const std::string& name, const std::string& a,
               const std::string& b) {
  if (a == b) return true;
  if (name.size() < 5 || name.substr(name.size() - 5) != ".json") return false;
  return json::parse(a) == json::parse(b);
}

// The module's graph as text with every node's metadata in key order: the
// JSON of a .pt2 keeps metadata as an object, whose order is not kept.
std::string Canonical(const ExportedModule& m) {
  proto::GraphModule p = ModuleToProto(m);
  for (proto::Node& n : *p.mutable_graph()->mutable_nodes()) {
    std::sort(n.mutable_meta()->begin(), n.mutable_meta()->end(),
              [](const proto::MetaEntry& a, const proto::MetaEntry& b) {
                return a.key() < b.key();
              });
  }
  absl::StatusOr<ExportedModule> back = ModuleFromProto(p);
  EXPECT_TRUE(back.ok()) << back.status();
  return back.ok() ? PrintGraph(back->graph()) : "";
}

ExportedModule Load(const std::string& bytes) {
  absl::StatusOr<ExportedModule> m = LoadPt2FromBytes(bytes, "test.pt2");
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : ExportedModule();
}

class Pt2WriterTest : public ::testing::TestWithParam<const char*> {};

TEST_P(Pt2WriterTest, SavingAnUnchangedModuleReproducesTheArchive) {
  const std::string original = Bytes(std::string(GetParam()) + ".pt2");
  absl::StatusOr<std::string> saved = SerializePt2(Load(original));
  ASSERT_TRUE(saved.ok()) << saved.status();
  const auto before = Entries(original);
  const auto after = Entries(*saved);
  for (const auto& [name, bytes] : before) {
    auto it = after.find(name);
    ASSERT_NE(it, after.end()) << name << " was dropped";
    EXPECT_TRUE(SameEntry(name, bytes, it->second)) << name << " changed";
  }
  for (const auto& [name, bytes] : after) {
    if (before.count(name) == 0) {
      EXPECT_EQ(name, std::string(GetParam()) + "/" + kModeEntry);
    }
  }
}

TEST_P(Pt2WriterTest, EvalSurvivesSaveAndLoadAndSwitchesBack) {
  const std::string original = Bytes(std::string(GetParam()) + ".pt2");
  ExportedModule m = Load(original);
  ASSERT_TRUE(MoveExportedModelToEval(m).ok());
  const std::string eval_graph = Canonical(m);
  absl::StatusOr<std::string> saved = SerializePt2(m);
  ASSERT_TRUE(saved.ok()) << saved.status();
  ExportedModule reloaded = Load(*saved);
  EXPECT_EQ(reloaded.mode(), ModuleMode::kEval);
  EXPECT_EQ(Canonical(reloaded), eval_graph);
  ASSERT_EQ(reloaded.tensors().size(), m.tensors().size());
  for (size_t i = 0; i < m.tensors().size(); ++i) {
    EXPECT_EQ(reloaded.tensors()[i].data, m.tensors()[i].data)
        << m.tensors()[i].name;
  }
  // The way back restores the export as loaded (stashes included).
  ASSERT_TRUE(MoveExportedModelToTrain(reloaded).ok());
  EXPECT_EQ(reloaded.mode(), ModuleMode::kTrain);
  ExportedModule direct = Load(original);
  ASSERT_TRUE(MoveExportedModelToEval(direct).ok());
  ASSERT_TRUE(MoveExportedModelToTrain(direct).ok());
  EXPECT_EQ(Canonical(reloaded), Canonical(direct));
}

INSTANTIATE_TEST_SUITE_P(Dialects, Pt2WriterTest,
                         ::testing::Values("conv_bn_dropout.train",
                                           "conv_bn_dropout.core_aten"));

TEST(Pt2WriterFreshTest, AModuleFromElsewhereRoundTrips) {
  SyntheticModelOptions o;
  o.blocks = 3;
  absl::StatusOr<ExportedModule> m = BuildSyntheticModel(o);
  ASSERT_TRUE(m.ok());
  absl::StatusOr<std::string> saved = SerializePt2(*m);
  ASSERT_TRUE(saved.ok()) << saved.status();
  ExportedModule reloaded = Load(*saved);
  // The same graph, except that torch's programs return each value as its
  // own output: the FX-style `return ([%dropout_2],)` reads back flat.
  std::string original = PrintGraph(m->graph());
  const size_t ret = original.rfind("    return ([%dropout_2],)\n");
  ASSERT_NE(ret, std::string::npos) << original;
  original.replace(ret, std::string::npos, "    return (%dropout_2,)\n");
  EXPECT_EQ(PrintGraph(reloaded.graph()), original);
  ASSERT_EQ(reloaded.tensors().size(), m->tensors().size());
  for (size_t i = 0; i < m->tensors().size(); ++i) {
    EXPECT_EQ(reloaded.tensors()[i].name, m->tensors()[i].name);
    EXPECT_EQ(reloaded.tensors()[i].data, m->tensors()[i].data);
  }
}

// A core ATen program (torch's "ATEN" verifier wants every op functional)
// that a rewrite gave a final in-place update of its input: written as the
// functional op plus a user-input mutation, which reads back as that op and
// a trailing copy_ into the input.
TEST(Pt2WriterFunctionalTest, AFinalInPlaceUpdateBecomesAMutationOutput) {
  ExportedModule m = Load(Bytes("conv_bn_dropout.core_aten.pt2"));
  Graph& g = m.graph();
  Node* x = g.FindNode("x");
  ASSERT_NE(x, nullptr);
  // Appended last: nothing reads x afterwards.
  absl::StatusOr<Node*> add = g.Append(
      {OpKind::kCallFunction, "aten.add_.Tensor",
       {Argument::Ref(x), Argument::Int(5)}, {}, "bump", {}});
  ASSERT_TRUE(add.ok()) << add.status();
  (*add)->mutable_meta() = x->meta();
  absl::StatusOr<std::string> saved = SerializePt2(m);
  ASSERT_TRUE(saved.ok()) << saved.status();
  ExportedModule reloaded = Load(*saved);
  const std::string text = PrintGraph(reloaded.graph());
  EXPECT_THAT(text, HasSubstr("%bump : f32[2, 3, 4, 4] = aten.add.Tensor(%x, 5)"));
  EXPECT_THAT(text, HasSubstr("aten.copy_.default(%x, %bump)"));
  EXPECT_TRUE(reloaded.graph().NodesWithTarget("aten.add_.Tensor").empty());
}

TEST(Pt2WriterFunctionalTest, AnInPlaceOpWithLaterReadersIsRefused) {
  ExportedModule m = Load(Bytes("conv_bn_dropout.core_aten.pt2"));
  Graph& g = m.graph();
  Node* x = g.FindNode("x");
  ASSERT_NE(x, nullptr);
  // relu_ on the user input, which the first convolution reads afterwards.
  Node* first = nullptr;
  for (Node* n : g) {
    if (n->is_call()) {
      first = n;
      break;
    }
  }
  ASSERT_NE(first, nullptr);
  absl::StatusOr<Node*> relu = g.InsertBefore(
      first, {OpKind::kCallFunction, "aten.relu_.default", {Argument::Ref(x)}, {},
              "clobber", {}});
  ASSERT_TRUE(relu.ok()) << relu.status();
  absl::StatusOr<std::string> saved = SerializePt2(m);
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(saved.status().message()), HasSubstr("%clobber"));
  EXPECT_THAT(std::string(saved.status().message()), HasSubstr("must be functional"));
}

TEST(Pt2WriterFreshTest, AGraphTheFormatCannotHoldLeavesTheFileAlone) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(R"(graph():
    %c = get_attr[target=const]
    %r = aten.relu.default(%c)
    return (%r,)
)");
  ASSERT_TRUE(g.ok()) << g.status();
  ExportedModule m(std::move(*g));
  const std::string path = testing_files::TempDir() + "/keep.pt2";
  ASSERT_TRUE(WriteFileAtomic(path, "precious").ok());
  absl::Status s = SavePt2File(m, path);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(s.message()), HasSubstr("get_attr"));
  EXPECT_EQ(testing_files::ReadAll(path), "precious");
}

}  // namespace
}  // namespace pt2
}  // namespace rewire
