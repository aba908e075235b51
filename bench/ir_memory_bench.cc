// Heap bytes per node of the in-memory IR, measured on a chain of
// aten.relu.default nodes that each carry a "val" TensorMeta f32[8, 64, 56, 56]
// (the shape of a ResNet activation): what a 1e6-node exported graph costs.
//
//   bazel run -c opt //bench:ir_memory_bench
//
// The figure is the bytes malloc has handed out after building minus before,
// divided by the node count, so it includes malloc's per-chunk overhead and
// the graph's hash-table slack, which sizeof() alone misses. glibc serves
// large blocks (here the name table) with mmap and counts them in
// mallinfo2().hblkhd, not in uordblks, and which blocks go there moves with
// its adaptive mmap threshold, so the figure is the sum of both;
// heap_bytes_per_node and mmap_bytes_per_node show the split.
// Node names ("relu_123456") fit std::string's inline buffer and "val" is
// the only metadata key, so no separate string allocations are counted here.
// The sizeof counters show where the bytes go when the target (400 B/node)
// is missed.
#include <malloc.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "ir/argument.h"
#include "ir/graph.h"
#include "ir/metadata.h"

namespace rewire {
namespace {

Metadata ActivationVal() {
  Metadata m;
  m.Set("val", MetaValue::Tensor(
                   TensorMeta::Make(ScalarType::kFloat32, {8, 64, 56, 56})));
  return m;
}

std::unique_ptr<Graph> BuildChain(int64_t n) {
  auto g = std::make_unique<Graph>();
  Node* prev = *g->AddPlaceholder("x", ActivationVal());
  for (int64_t i = 0; i < n; ++i) {
    prev = *g->AddCall("aten.relu.default", {Argument::Ref(prev)}, {},
                       ActivationVal());
  }
  (void)g->AddOutput({Argument::Ref(prev)});
  return g;
}

void BM_IrMemoryPerNode(benchmark::State& state) {
  const int64_t n = state.range(0);
  double heap_per_node = 0;
  double mmap_per_node = 0;
  for (auto _ : state) {
    const struct mallinfo2 before = mallinfo2();
    std::unique_ptr<Graph> g = BuildChain(n);
    const struct mallinfo2 after = mallinfo2();
    // In double: a block the build frees can make one part shrink.
    heap_per_node = (static_cast<double>(after.uordblks) -
                     static_cast<double>(before.uordblks)) /
                    static_cast<double>(n);
    mmap_per_node = (static_cast<double>(after.hblkhd) -
                     static_cast<double>(before.hblkhd)) /
                    static_cast<double>(n);
    benchmark::DoNotOptimize(g.get());
    state.PauseTiming();
    g.reset();
    state.ResumeTiming();
  }
  state.counters["bytes_per_node"] = heap_per_node + mmap_per_node;
  state.counters["heap_bytes_per_node"] = heap_per_node;
  state.counters["mmap_bytes_per_node"] = mmap_per_node;
  state.counters["sizeof_Node"] = sizeof(Node);
  state.counters["sizeof_Argument"] = sizeof(Argument);
  state.counters["sizeof_Use"] = sizeof(Use);
  state.counters["sizeof_TensorMeta"] = sizeof(TensorMeta);
  state.counters["sizeof_Dim"] = sizeof(Dim);
  state.counters["sizeof_MetaValue"] = sizeof(MetaValue);
  state.counters["sizeof_MetaEntry"] = sizeof(Metadata::Entry);
}
BENCHMARK(BM_IrMemoryPerNode)
    ->Arg(1000000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rewire

BENCHMARK_MAIN();
