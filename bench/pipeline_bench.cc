// The whole pipeline a user runs on one exported model, stage by stage, on
// the synthetic conv/batch-norm/relu/dropout model (tools/synthetic_model.h)
// at 1e4, 1e5 and 1e6 nodes: a bare protobuf parse of the file's bytes (the
// baseline the loader is compared with, on the heap and in an arena), load
// (parse, build the IR, verify), the same from a .pt2 archive, verify
// alone, the switch to eval, a run of the eval model, and serialization to
// .pb and to .pt2. Tensors are small (2 channels, 8x8) so
// that the graph, not the arithmetic, is measured. The counter
// nodes_per_second is graph nodes / stage time; linear scaling shows as a
// flat nodes_per_second across sizes, and load's ratio to ProtoParse is the
// loader's overhead over protobuf.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "google/protobuf/arena.h"
#include "ir/exported_module.h"
#include "ir/serialization.h"
#include "ir/verifier.h"
#include "kernels/executor.h"
#include "kernels/tensor.h"
#include "proto/graph.pb.h"
#include "pt2/pt2_reader.h"
#include "pt2/pt2_writer.h"
#include "rewrite/train_eval.h"
#include "tools/synthetic_model.h"

namespace rewire {
namespace {

struct Model {
  std::string train_bytes;  // binary .pb of the train-mode export
  std::string eval_bytes;   // the same after MoveExportedModelToEval
  std::string train_pt2;    // the train-mode export as a .pt2 archive
  int64_t nodes = 0;
};

// Built once per size: the 1e6-node model takes seconds to make.
const Model& ModelWithNodes(int64_t nodes) {
  static auto* cache = new std::map<int64_t, Model>();
  auto it = cache->find(nodes);
  if (it != cache->end()) return it->second;
  SyntheticModelOptions o;
  o.blocks = nodes / 12;
  o.channels = 2;
  absl::StatusOr<ExportedModule> m = BuildSyntheticModel(o);
  if (!m.ok()) std::abort();
  Model model;
  model.nodes = static_cast<int64_t>(m->graph().size());
  model.train_bytes = *SerializeModule(*m, Format::kBinaryProto);
  absl::StatusOr<std::string> pt2 = pt2::SerializePt2(*m);
  if (!pt2.ok()) std::abort();
  model.train_pt2 = *std::move(pt2);
  if (!MoveExportedModelToEval(*m).ok()) std::abort();
  model.eval_bytes = *SerializeModule(*m, Format::kBinaryProto);
  return cache->emplace(nodes, std::move(model)).first->second;
}

ExportedModule LoadOrDie(const std::string& bytes) {
  absl::StatusOr<ExportedModule> m =
      LoadModuleFromBytes(bytes, Format::kBinaryProto);
  if (!m.ok()) std::abort();
  return *std::move(m);
}

void SetCounters(benchmark::State& state, const Model& model,
                 int64_t bytes) {
  state.counters["nodes"] = static_cast<double>(model.nodes);
  state.counters["nodes_per_second"] =
      benchmark::Counter(static_cast<double>(model.nodes),
                         benchmark::Counter::kIsIterationInvariantRate);
  state.SetBytesProcessed(state.iterations() * bytes);
}

void BM_ProtoParse(benchmark::State& state) {
  const Model& model = ModelWithNodes(state.range(0));
  for (auto _ : state) {
    proto::GraphModule p;
    if (!p.ParseFromString(model.train_bytes)) {
      state.SkipWithError("parse failed");
      return;
    }
    benchmark::DoNotOptimize(p);
    state.PauseTiming();
    { proto::GraphModule drop = std::move(p); }
    state.ResumeTiming();
  }
  SetCounters(state, model, static_cast<int64_t>(model.train_bytes.size()));
}

void BM_ProtoParseArena(benchmark::State& state) {
  const Model& model = ModelWithNodes(state.range(0));
  for (auto _ : state) {
    auto* arena = new google::protobuf::Arena();
    auto* p = google::protobuf::Arena::CreateMessage<proto::GraphModule>(arena);
    if (!p->ParseFromString(model.train_bytes)) {
      state.SkipWithError("parse failed");
      return;
    }
    benchmark::DoNotOptimize(p);
    state.PauseTiming();
    delete arena;
    state.ResumeTiming();
  }
  SetCounters(state, model, static_cast<int64_t>(model.train_bytes.size()));
}

// Parse, IR build and verification, as LoadModuleFromFile does after reading.
void BM_Load(benchmark::State& state) {
  const Model& model = ModelWithNodes(state.range(0));
  for (auto _ : state) {
    ExportedModule m = LoadOrDie(model.train_bytes);
    state.PauseTiming();
    { ExportedModule drop = std::move(m); }
    state.ResumeTiming();
  }
  SetCounters(state, model, static_cast<int64_t>(model.train_bytes.size()));
}

// The same model from a .pt2 archive: unzip, JSON parse, conversion to the
// IR, the loader checks and verification (pt2::LoadPt2FromBytes).
void BM_LoadPt2(benchmark::State& state) {
  const Model& model = ModelWithNodes(state.range(0));
  for (auto _ : state) {
    absl::StatusOr<ExportedModule> m = pt2::LoadPt2FromBytes(model.train_pt2, "bench");
    if (!m.ok()) {
      state.SkipWithError(std::string(m.status().message()).c_str());
      return;
    }
    state.PauseTiming();
    { ExportedModule drop = *std::move(m); }
    state.ResumeTiming();
  }
  SetCounters(state, model, static_cast<int64_t>(model.train_pt2.size()));
}

void BM_Verify(benchmark::State& state) {
  const Model& model = ModelWithNodes(state.range(0));
  ExportedModule m = LoadOrDie(model.train_bytes);
  for (auto _ : state) {
    if (!Verify(m.graph()).ok()) {
      state.SkipWithError("verify failed");
      return;
    }
  }
  SetCounters(state, model, 0);
}

void BM_SwitchToEval(benchmark::State& state) {
  const Model& model = ModelWithNodes(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    ExportedModule m = LoadOrDie(model.train_bytes);
    state.ResumeTiming();
    if (!MoveExportedModelToEval(m).ok()) {
      state.SkipWithError("switch failed");
      return;
    }
    state.PauseTiming();
    { ExportedModule drop = std::move(m); }
    state.ResumeTiming();
  }
  SetCounters(state, model, 0);
}

void BM_RunEval(benchmark::State& state) {
  const Model& model = ModelWithNodes(state.range(0));
  ExportedModule m = LoadOrDie(model.eval_bytes);
  absl::StatusOr<Tensor> x = Tensor::Empty(ScalarType::kFloat32, {2, 2, 8, 8});
  if (!x.ok()) std::abort();
  for (int64_t i = 0; i < x->numel(); ++i) {
    x->data<float>()[i] = static_cast<float>(i % 7) * 0.25f - 0.5f;
  }
  const std::vector<Tensor> inputs = {*x};
  for (auto _ : state) {
    absl::StatusOr<ExecutionResult> r = Execute(m, inputs);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(r);
  }
  SetCounters(state, model, 0);
}

void BM_Save(benchmark::State& state) {
  const Model& model = ModelWithNodes(state.range(0));
  ExportedModule m = LoadOrDie(model.eval_bytes);
  int64_t size = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> bytes = SerializeModule(m, Format::kBinaryProto);
    if (!bytes.ok()) {
      state.SkipWithError("serialize failed");
      return;
    }
    size = static_cast<int64_t>(bytes->size());
    benchmark::DoNotOptimize(bytes);
  }
  SetCounters(state, model, size);
}

void BM_SavePt2(benchmark::State& state) {
  const Model& model = ModelWithNodes(state.range(0));
  ExportedModule m = LoadOrDie(model.eval_bytes);
  int64_t size = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> bytes = pt2::SerializePt2(m);
    if (!bytes.ok()) {
      state.SkipWithError(std::string(bytes.status().message()).c_str());
      return;
    }
    size = static_cast<int64_t>(bytes->size());
    benchmark::DoNotOptimize(bytes);
  }
  SetCounters(state, model, size);
}

#define PIPELINE_STAGE(fn)                                         \
  BENCHMARK(fn)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(      \
      benchmark::kMillisecond)

PIPELINE_STAGE(BM_ProtoParse);
PIPELINE_STAGE(BM_ProtoParseArena);
PIPELINE_STAGE(BM_Load);
PIPELINE_STAGE(BM_LoadPt2);
PIPELINE_STAGE(BM_Verify);
PIPELINE_STAGE(BM_SwitchToEval);
PIPELINE_STAGE(BM_RunEval);
PIPELINE_STAGE(BM_Save);
PIPELINE_STAGE(BM_SavePt2);

}  // namespace
}  // namespace rewire

BENCHMARK_MAIN();
