// A C++ program using an installed rewire through its C API, with the
// handles owned by std::unique_ptr: loads MODEL, switches it to eval, runs
// it on ones and prints the output's shape and its first values.
// Usage: consumer_cpp MODEL.pb
#include <rewire/rewire.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace {

struct ModuleFree {
  void operator()(rewire_module* m) const { rewire_module_free(m); }
};
struct OutputsFree {
  void operator()(rewire_outputs* o) const { rewire_outputs_free(o); }
};
using Module = std::unique_ptr<rewire_module, ModuleFree>;
using Outputs = std::unique_ptr<rewire_outputs, OutputsFree>;

int Fail(const std::string& what, rewire_status s) {
  std::fprintf(stderr, "%s: %s: %s\n", what.c_str(), rewire_status_name(s),
               rewire_last_error());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MODEL.pb\n", argv[0]);
    return 2;
  }
  rewire_module* raw = nullptr;
  if (rewire_status s = rewire_module_load_file(argv[1], &raw); s != REWIRE_OK) {
    return Fail("load", s);
  }
  Module m(raw);
  if (rewire_status s = rewire_module_move_to_eval(m.get(), nullptr); s != REWIRE_OK) {
    return Fail("eval", s);
  }
  std::vector<int64_t> shape(8);
  size_t ndim = 0;
  if (rewire_status s = rewire_module_input_shape(m.get(), 0, shape.data(), shape.size(), &ndim);
      s != REWIRE_OK) {
    return Fail("input shape", s);
  }
  shape.resize(ndim);
  std::vector<float> x(std::accumulate(shape.begin(), shape.end(), int64_t{1},
                                       [](int64_t a, int64_t b) { return a * b; }),
                       1.0f);
  rewire_input in{rewire_module_input_name(m.get(), 0), x.data(), shape.data(), ndim};
  rewire_outputs* raw_outs = nullptr;
  if (rewire_status s = rewire_module_run(m.get(), &in, 1, 0, &raw_outs); s != REWIRE_OK) {
    return Fail("run", s);
  }
  Outputs outs(raw_outs);
  std::printf("eval output %s: [", rewire_outputs_name(outs.get(), 0));
  for (size_t d = 0; d < rewire_outputs_ndim(outs.get(), 0); ++d) {
    std::printf("%s%lld", d ? ", " : "", static_cast<long long>(rewire_outputs_shape(outs.get(), 0)[d]));
  }
  const float* y = rewire_outputs_data(outs.get(), 0);
  std::printf("], first values %.4f %.4f\n", y[0], y[1]);
  return 0;
}
