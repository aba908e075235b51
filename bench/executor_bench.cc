// Times rewire's executor on one exported model: loads MODEL (.pb/.pbtxt),
// runs it on INPUT (.npy) `--warmup` times, then `--iters` timed runs, and
// prints one JSON line: median and min milliseconds per run, the resident
// memory after loading, and the peak resident memory during the runs.
// bench/executor_vs_torch.py runs it next to eager PyTorch on the same
// models and threads (docs/BENCHMARKS.md).
//
//   executor_bench MODEL INPUT [--iters N] [--warmup K]
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

// VmHWM, the peak resident set since the last ResetPeak().
double PeakRssMb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return 0;
}

// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0),
// so the peak measures the runs, not the loading.
void ResetPeak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
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
  ResetPeak();
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
