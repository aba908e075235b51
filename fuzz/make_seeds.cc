// Writes the seed corpora of the fuzz targets from the models in
// seed_models.cc: `make_seeds OUT_DIR` creates OUT_DIR/<target>/<model>.<ext>.
//
// The corpora are checked in (fuzz/corpus/) so a fuzzing run starts from valid
// inputs of every dialect instead of having to discover the protobuf framing
// and the text grammar from nothing; this binary regenerates them after a
// format change:
//   bazel run //fuzz:make_seeds -- $PWD/fuzz/corpus
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "base/file.h"
#include "fuzz/execute_case.h"
#include "fuzz/seed_models.h"
#include "ir/serialization.h"
#include "ir/text_format.h"

namespace {

bool Write(const std::string& path, const std::string& bytes) {
  absl::Status s = rewire::WriteFileAtomic(path, bytes);
  if (!s.ok()) std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
  return s.ok();
}

// Patterns for the matcher fuzzer: the shapes a train/eval rewrite uses.
const char* const kPatterns[][2] = {
    {"dropout", "%x = placeholder\n%p = placeholder\n"
                "%d = aten.dropout.default(%x, %p, True)\nreturn (%d,)\n"},
    {"batch_norm_legit",
     "%x = placeholder\n%w = placeholder\n%b = placeholder\n"
     "%rm = placeholder\n%rv = placeholder\n"
     "%bn = aten._native_batch_norm_legit.default(%x, %w, %b, %rm, %rv, "
     "True, 0.1, 1e-05)\n%g = getitem(%bn, 0)\nreturn (%g,)\n"},
    {"native_dropout", "%x = placeholder\n"
                       "%n = aten.native_dropout.default(%x, 0.5, True)\n"
                       "%g = getitem(%n, 0)\n%m = getitem(%n, 1)\n"
                       "return (%g, %m)\n"},
    {"relu_add", "%x = placeholder\n%r = aten.relu.default(%x)\n"
                 "%a = aten.add.Tensor(%r, %x)\nreturn (%a,)\n"},
    {"make_fx_dropout",
     "%x = placeholder\n"
     "%e = aten.empty_like.default(%x, memory_format=torch.contiguous_format)\n"
     "%b = aten.bernoulli_.float(%e, 0.5)\n%d = aten.div_.Scalar(%b, 0.5)\n"
     "%m = aten.mul.Tensor(%x, %d)\nreturn (%m,)\n"},
};

// execute_fuzzer seeds: the control bytes (execute_case.h) of each variant
// written per model. Every variant must run: a seed that fails at load or in
// the first kernel would leave the fuzzer to rediscover a runnable model.
struct ExecuteVariant {
  const char* suffix;
  char flags;
};
constexpr ExecuteVariant kExecuteVariants[] = {
    // As exported, by position, compared against a second run.
    {".pb", 0x20},
    // Switched to eval, by name, special values, a second step.
    {"_eval.pb", 0x01 | 0x04 | 0x08 | 0x10},
    // Text proto, as exported, special values, compared against a second run.
    {".pbtxt", 0x40 | 0x08 | 0x20},
    // Text proto, eval then back to train, by name, a second step.
    {"_train.pbtxt", 0x40 | 0x03 | 0x04 | 0x10},
};

bool WriteExecuteSeeds(const std::string& out, const std::string& name,
                       const rewire::ExportedModule& module) {
  bool ok = true;
  for (const ExecuteVariant& v : kExecuteVariants) {
    auto module_bytes = rewire::SerializeModule(
        module, (v.flags & 0x40) != 0 ? rewire::Format::kTextProto
                                      : rewire::Format::kBinaryProto);
    if (!module_bytes.ok()) {
      std::fprintf(stderr, "%s: serialization failed\n", name.c_str());
      return false;
    }
    const std::string bytes =
        std::string{v.flags, 0x07, 0x00, 0x01} + *module_bytes;
    auto c = rewire::fuzz::DecodeExecuteCase(bytes);
    absl::Status s = c.status();
    if (c.ok()) s = rewire::fuzz::RunCase(*c, c->module, c->options).status();
    if (!s.ok()) {
      std::fprintf(stderr, "%s%s does not run: %s\n", name.c_str(), v.suffix,
                   s.ToString().c_str());
      ok = false;
      continue;
    }
    ok &= Write(out + "/execute_fuzzer/" + name + v.suffix, bytes);
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR (with subdirectories per target)\n",
                 argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  bool ok = true;
  for (const rewire::fuzz::SeedModel& m : rewire::fuzz::SeedModels()) {
    auto module = rewire::fuzz::BuildSeedModule(m.text);
    if (!module.ok()) {
      std::fprintf(stderr, "%s: %s\n", m.name.c_str(),
                   module.status().ToString().c_str());
      return 1;
    }
    auto pb = rewire::SerializeModule(*module, rewire::Format::kBinaryProto);
    auto pbtxt = rewire::SerializeModule(*module, rewire::Format::kTextProto);
    if (!pb.ok() || !pbtxt.ok()) {
      std::fprintf(stderr, "%s: serialization failed\n", m.name.c_str());
      return 1;
    }
    ok &= Write(out + "/load_binary_fuzzer/" + m.name + ".pb", *pb);
    // rewrite_fuzzer: rule mask (all rules), unlimited matcher steps.
    ok &= Write(out + "/rewrite_fuzzer/" + m.name + ".pb",
                std::string("\xff\x00", 2) + *pb);
    ok &= Write(out + "/load_text_proto_fuzzer/" + m.name + ".pbtxt", *pbtxt);
    ok &= Write(out + "/text_format_fuzzer/" + m.name + ".txt",
                rewire::PrintGraph(module->graph()));
    ok &= WriteExecuteSeeds(out, m.name, *module);
  }
  for (const rewire::fuzz::SeedModel& m :
       rewire::fuzz::ExecutionSeedModels()) {
    auto module = rewire::fuzz::BuildSeedModule(m.text);
    if (!module.ok()) {
      std::fprintf(stderr, "%s: %s\n", m.name.c_str(),
                   module.status().ToString().c_str());
      return 1;
    }
    ok &= WriteExecuteSeeds(out, m.name, *module);
  }
  for (const auto& p : kPatterns) {
    ok &= Write(out + "/pattern_matcher_fuzzer/" + p[0] + ".txt", p[1]);
  }
  // Kernel seeds: raw parameter bytes (see kernels_fuzzer.cc for the layout).
  for (int op = 0; op < 9; ++op) {
    std::string bytes;
    bytes.push_back(static_cast<char>(op));
    for (int i = 0; i < 48; ++i) bytes.push_back(static_cast<char>(i * 37 + op));
    ok &= Write(out + "/kernels_fuzzer/op" + std::to_string(op) + ".bin", bytes);
  }
  return ok ? 0 : 1;
}
