// Times rewire's executor on one exported model: loads MODEL (.pb/.pbtxt),
// runs it on INPUT (.npy) `--warmup` times, then `--iters` timed runs, and
// prints one JSON line: median and min milliseconds per run, the resident
// memory after loading, and the peak resident memory of the process.
// bench/executor_vs_torch.py runs it next to eager PyTorch on the same
// models and threads (docs/BENCHMARKS.md).
//
//   executor_bench MODEL INPUT [--iters N] [--warmup K]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "ir/serialization.h"
#include "kernels/executor.h"
#include "tools/npy.h"

namespace {

double RssMb() {
  std::ifstream f("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  f >> pages_total >> pages_resident;
  return pages_resident * 4096.0 / (1 << 20);
}

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL INPUT [--iters N] [--warmup K]\n", argv[0]);
    return 2;
  }
  int iters = 10, warmup = 2;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--iters") iters = std::atoi(argv[i + 1]);
    if (flag == "--warmup") warmup = std::atoi(argv[i + 1]);
  }
  absl::StatusOr<rewire::ExportedModule> m = rewire::LoadModuleFromFile(argv[1]);
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<rewire::Tensor> x = rewire::tools::ReadNpyFile(argv[2]);
  if (!x.ok()) {
    std::fprintf(stderr, "%s\n", x.status().ToString().c_str());
    return 1;
  }
  const double load_rss = RssMb();
  std::vector<double> ms;
  for (int i = 0; i < warmup + iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<rewire::ExecutionResult> r = rewire::Execute(*m, {*x});
    const auto t1 = std::chrono::steady_clock::now();
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
    if (i >= warmup) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("{\"ms_median\": %.3f, \"ms_min\": %.3f, \"load_rss_mb\": %.1f, "
              "\"peak_rss_mb\": %.1f}\n",
              ms[ms.size() / 2], ms[0], load_rss, PeakRssMb());
  return 0;
}
