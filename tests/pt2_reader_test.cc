#include "pt2/pt2_reader.h"

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/verifier.h"
#include "kernels/executor.h"
#include "nlohmann/json.hpp"
#include "pt2/zip_archive.h"
#include "rewrite/train_eval.h"
#include "tools/npy.h"

namespace rewire {
namespace pt2 {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using json = nlohmann::json;

constexpr char kDir[] = "tests/testdata/pt2/";
constexpr char kTrain[] = "conv_bn_dropout.train";
constexpr char kCore[] = "conv_bn_dropout.core_aten";

std::string Bytes(const std::string& file) {
  absl::StatusOr<std::string> b = ReadFileToString(kDir + file);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *b : "";
}

Tensor Npy(const std::string& file) {
  absl::StatusOr<Tensor> t = tools::ReadNpyFile(kDir + file);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : Tensor();
}

// The golden archive `stem` with `edit` applied to its entries (name ->
// bytes; erase to drop, assign to add or replace).
std::string Edited(
    const std::string& stem,
    const std::function<void(std::map<std::string, std::string>&)>& edit) {
  const std::string bytes = Bytes(stem + ".pt2");
  absl::StatusOr<ZipReader> r = ZipReader::Open(bytes, stem);
  EXPECT_TRUE(r.ok());
  std::map<std::string, std::string> entries;
  std::vector<std::string> order = r->names();
  for (const std::string& name : order) entries[name] = *r->Read(name);
  edit(entries);
  ZipWriter w;
  for (const std::string& name : order) {
    auto it = entries.find(name);
    if (it != entries.end()) {
      EXPECT_TRUE(w.Add(name, it->second).ok());
    }
  }
  for (const auto& [name, data] : entries) {
    if (std::find(order.begin(), order.end(), name) == order.end()) {
      EXPECT_TRUE(w.Add(name, data).ok());
    }
  }
  absl::StatusOr<std::string> out = w.Finish();
  EXPECT_TRUE(out.ok());
  return out.ok() ? *out : "";
}

// The golden archive with its model.json changed by `edit`.
std::string EditedProgram(const std::string& stem,
                          const std::function<void(json&)>& edit) {
  return Edited(stem, [&](std::map<std::string, std::string>& e) {
    std::string& text = e[stem + "/models/model.json"];
    json program = json::parse(text);
    edit(program);
    text = program.dump();
  });
}

float MaxAbsDiff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  }
  return m;
}

TEST(Pt2ReaderTest, LoadsATrainingIrExportWithItsState) {
  absl::StatusOr<ExportedModule> m =
      LoadPt2FromBytes(Bytes(std::string(kTrain) + ".pt2"), kTrain);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(Verify(m->graph()).ok());
  std::vector<std::string> names;
  for (const StateTensor& t : m->tensors()) names.push_back(t.name);
  EXPECT_THAT(names, UnorderedElementsAre(
                         "conv.weight", "conv.bias", "bn.weight", "bn.bias",
                         "fc.weight", "fc.bias", "bn.running_mean",
                         "bn.running_var", "bn.num_batches_tracked"));
  const StateTensor* mean = m->TensorForPlaceholder("b_bn_running_mean");
  ASSERT_NE(mean, nullptr);
  EXPECT_EQ(mean->role, TensorRole::kBuffer);
  ASSERT_EQ(m->InputPlaceholders().size(), 1u);
  EXPECT_EQ(m->InputPlaceholders()[0]->name(), "x");
  const Node* dropout = m->graph().FindNode("dropout");
  ASSERT_NE(dropout, nullptr);
  EXPECT_EQ(dropout->target().qualified, "aten.dropout.default");
  EXPECT_TRUE(dropout->meta().Contains("nn_module_stack"));
}

// The contract end to end: a train-mode export read from PyTorch's own
// archive, switched to eval, computes what eager model.eval() computes.
class Pt2EvalTest : public ::testing::TestWithParam<const char*> {};

TEST_P(Pt2EvalTest, EvalMatchesEagerEval) {
  absl::StatusOr<ExportedModule> m =
      LoadPt2FromBytes(Bytes(std::string(GetParam()) + ".pt2"), GetParam());
  ASSERT_TRUE(m.ok()) << m.status();
  absl::StatusOr<TrainEvalReport> report = MoveExportedModelToEval(*m);
  ASSERT_TRUE(report.ok()) << report.status();
  absl::StatusOr<ExecutionResult> r =
      Execute(*m, std::vector<Tensor>{Npy("conv_bn_dropout.x.npy")});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_LT(MaxAbsDiff(r->outputs[0].tensor, Npy("conv_bn_dropout.eval_out.npy")),
            1e-5f);
  EXPECT_TRUE(r->updated_state.empty()) << "eval must not update state";
}

INSTANTIATE_TEST_SUITE_P(Dialects, Pt2EvalTest,
                         ::testing::Values(kTrain, kCore));

TEST(Pt2ReaderTest, BufferMutationsOfCoreAtenUpdateTheState) {
  absl::StatusOr<ExportedModule> m =
      LoadPt2FromBytes(Bytes(std::string(kCore) + ".pt2"), kCore);
  ASSERT_TRUE(m.ok()) << m.status();
  absl::StatusOr<ExecutionResult> r =
      Execute(*m, std::vector<Tensor>{Npy("conv_bn_dropout.x.npy")});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->updated_state,
              UnorderedElementsAre("bn.running_mean", "bn.running_var",
                                   "bn.num_batches_tracked"));
  ASSERT_EQ(r->outputs.size(), 1u) << "mutations are not user outputs";
}

absl::Status LoadStatus(const std::string& bytes) {
  return LoadPt2FromBytes(bytes, "edited.pt2").status();
}

TEST(Pt2ReaderTest, OtherSchemaMajorVersionsAreRefusedNamingBoth) {
  absl::Status s = LoadStatus(EditedProgram(
      kTrain, [](json& p) { p["schema_version"]["major"] = 9; }));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("9."));
  EXPECT_THAT(std::string(s.message()), HasSubstr("major version 8"));
}

TEST(Pt2ReaderTest, PickledWeightsAreRefusedNamingTheEntry) {
  absl::Status s = LoadStatus(Edited(kTrain, [](auto& e) {
    std::string& text =
        e[std::string(kTrain) + "/data/weights/model_weights_config.json"];
    json config = json::parse(text);
    config["config"]["bn.running_var"]["use_pickle"] = true;
    text = config.dump();
  }));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(s.message()), HasSubstr("bn.running_var"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("use_pickle"));
}

TEST(Pt2ReaderTest, WeightFileShorterThanItsMetaIsRefused) {
  absl::Status s = LoadStatus(Edited(kTrain, [](auto& e) {
    const std::string config_name =
        std::string(kTrain) + "/data/weights/model_weights_config.json";
    json config = json::parse(e[config_name]);
    const std::string file =
        config["config"]["fc.weight"]["path_name"].get<std::string>();
    e[std::string(kTrain) + "/data/weights/" + file].resize(10);
  }));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("fc.weight"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("10 bytes"));
}

TEST(Pt2ReaderTest, MissingPiecesAreRefused) {
  EXPECT_FALSE(LoadStatus(Edited(kTrain, [](auto& e) {
                 e.erase(std::string(kTrain) + "/models/model.json");
               })).ok());
  EXPECT_FALSE(LoadStatus(Edited(kTrain, [](auto& e) {
                 e.erase(std::string(kTrain) + "/archive_format");
               })).ok());
  absl::Status two = LoadStatus(Edited(kTrain, [](auto& e) {
    e[std::string(kTrain) + "/models/other.json"] = "{}";
  }));
  EXPECT_EQ(two.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(two.message()), HasSubstr("2 programs"));
}

TEST(Pt2ReaderTest, DeepJsonIsRefusedWithoutRecursion) {
  absl::Status s = LoadStatus(Edited(kTrain, [](auto& e) {
    e[std::string(kTrain) + "/models/model.json"] =
        std::string(1000000, '[') + std::string(1000000, ']');
  }));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("deeper than"));
}

TEST(Pt2ReaderTest, WrongTypesAndHugeNumbersAreRefusedNamingTheNode) {
  struct Case {
    std::function<void(json&)> edit;
    const char* message;
  };
  const std::vector<Case> cases = {
      {[](json& p) {
         p["graph_module"]["graph"]["nodes"][0]["inputs"][3]["arg"] =
             json{{"as_ints", "not a list"}};
       },
       "graph.nodes[0]"},
      {[](json& p) {
         p["graph_module"]["graph"]["nodes"][0]["inputs"][3]["arg"] =
             json{{"as_ints", {json::parse("1e300")}}};
       },
       "expected an integer"},
      {[](json& p) {
         p["graph_module"]["graph"]["nodes"][0]["inputs"][3]["arg"] =
             json{{"as_ints", {json::parse("18446744073709551615")}}};
       },
       "int64"},
      {[](json& p) {
         p["graph_module"]["graph"]["tensor_values"]["x"]["sizes"] = 7;
       },
       "'sizes' is not a list"},
      {[](json& p) {
         p["graph_module"]["graph"]["nodes"][0]["target"] =
             "torch.ops.higher_order.cond";
       },
       "higher-order op"},
      {[](json& p) {
         p["graph_module"]["graph"]["nodes"][0]["inputs"][0]["arg"] =
             json{{"as_graph", json::object()}};
       },
       "as_graph"},
  };
  for (const Case& c : cases) {
    absl::Status s = LoadStatus(EditedProgram(kTrain, c.edit));
    EXPECT_FALSE(s.ok()) << c.message;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.message));
  }
}

TEST(Pt2ReaderTest, NotAnArchiveIsRefused) {
  EXPECT_EQ(LoadStatus("graph():\n    return ()\n").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(LooksLikeZip("graph()"));
  EXPECT_TRUE(LooksLikeZip(Bytes(std::string(kTrain) + ".pt2")));
}

}  // namespace
}  // namespace pt2
}  // namespace rewire
