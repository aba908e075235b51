// bridge_runner: the executing half of the Python bridge's C++ helpers
// (python/rewire_bridge/runner.py); bridge_switch does the train/eval switch
// (see there why they are two binaries). Independent of the `rewire` CLI.
//
//   bridge_runner (--model m.pb | --synthetic_blocks B) [--input x.npy]...
//                 [--out_dir DIR] [--save_module out.pb] [--seed N] [--no_run]
//
// Executes the module as it is (no rewriting) on the .npy inputs, given in
// InputPlaceholders() order; writes every output as DIR/output_<i>.npy
// (DIR/outputs.txt lists "index name file|none"), prints
// "updated_state=a,b,..." and optionally saves the module after the run, so
// running statistics a training step updated can be compared.
// Exit status: 0 on success, 1 on any error (message on stderr).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "ir/exported_module.h"
#include "ir/serialization.h"
#include "ir/types.h"
#include "kernels/executor.h"
#include "kernels/tensor.h"
#include "tools/synthetic_model.h"

namespace rewire {
namespace {

struct NpyType {
  const char* descr;
  ScalarType dtype;
};
constexpr NpyType kNpyTypes[] = {
    {"<f4", ScalarType::kFloat32}, {"<f8", ScalarType::kFloat64},
    {"<f2", ScalarType::kFloat16}, {"<i8", ScalarType::kInt64},
    {"<i4", ScalarType::kInt32},   {"<i2", ScalarType::kInt16},
    {"|i1", ScalarType::kInt8},    {"|u1", ScalarType::kUInt8},
    {"|b1", ScalarType::kBool},
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Minimal .npy (v1/v2/v3, C order, little-endian) reader.
absl::StatusOr<Tensor> ReadNpy(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  const std::string& b = *bytes;
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0) {
    return absl::InvalidArgumentError(path + ": not a .npy file");
  }
  const int major = static_cast<unsigned char>(b[6]);
  size_t header_len, offset;
  if (major == 1) {
    header_len = static_cast<unsigned char>(b[8]) |
                 (static_cast<unsigned char>(b[9]) << 8);
    offset = 10;
  } else {
    if (b.size() < 12) return absl::InvalidArgumentError(path + ": truncated");
    header_len = 0;
    for (int i = 3; i >= 0; --i) {
      header_len = (header_len << 8) | static_cast<unsigned char>(b[8 + i]);
    }
    offset = 12;
  }
  if (b.size() < offset + header_len) {
    return absl::InvalidArgumentError(path + ": truncated header");
  }
  const std::string header = b.substr(offset, header_len);
  if (header.find("'fortran_order': True") != std::string::npos) {
    return absl::InvalidArgumentError(path + ": Fortran order unsupported");
  }
  const size_t d = header.find("'descr': '");
  if (d == std::string::npos) return absl::InvalidArgumentError(path + ": no descr");
  const std::string descr = header.substr(d + 10, 3);
  const NpyType* type = nullptr;
  for (const NpyType& t : kNpyTypes) {
    if (descr == t.descr) type = &t;
  }
  if (type == nullptr) {
    return absl::InvalidArgumentError(path + ": unsupported dtype " + descr);
  }
  const size_t s = header.find("'shape': (");
  if (s == std::string::npos) return absl::InvalidArgumentError(path + ": no shape");
  const size_t e = header.find(')', s);
  std::vector<int64_t> shape;
  for (absl::string_view piece :
       absl::StrSplit(header.substr(s + 10, e - s - 10), ',')) {
    piece = absl::StripAsciiWhitespace(piece);
    if (piece.empty()) continue;
    int64_t v;
    if (!absl::SimpleAtoi(piece, &v)) {
      return absl::InvalidArgumentError(path + ": bad shape");
    }
    shape.push_back(v);
  }
  absl::StatusOr<Tensor> t = Tensor::Empty(type->dtype, shape);
  if (!t.ok()) return t.status();
  const size_t data_off = offset + header_len;
  if (b.size() - data_off != static_cast<size_t>(t->nbytes())) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": data has ", b.size() - data_off, " bytes, expected ",
                     t->nbytes()));
  }
  if (t->nbytes() > 0) std::memcpy(t->raw_data(), b.data() + data_off, t->nbytes());
  return t;
}

absl::Status WriteNpy(const Tensor& t, const std::string& path) {
  const char* descr = nullptr;
  for (const NpyType& nt : kNpyTypes) {
    if (nt.dtype == t.dtype()) descr = nt.descr;
  }
  if (descr == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot write dtype ", ScalarTypeName(t.dtype()), " to .npy"));
  }
  std::string shape;
  for (int64_t s : t.shape()) absl::StrAppend(&shape, s, ",");
  if (t.dim() > 1) shape.pop_back();
  std::string header = absl::StrCat("{'descr': '", descr,
                                    "', 'fortran_order': False, 'shape': (",
                                    shape, "), }");
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  if (!out) return absl::InternalError("cannot write " + path);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char lb[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(lb, 2);
  out.write(header.data(), header.size());
  out.write(static_cast<const char*>(t.raw_data()), t.nbytes());
  return out ? absl::OkStatus() : absl::InternalError("write failed: " + path);
}

struct Flags {
  std::string model;
  std::vector<std::string> inputs;
  std::string out_dir;
  std::string save_module;
  uint64_t seed = 0;
  bool run = true;
  int64_t synthetic_blocks = 0;
};

absl::StatusOr<ExportedModule> LoadOrBuild(const Flags& f) {
  if (f.synthetic_blocks > 0) {
    SyntheticModelOptions o;
    o.blocks = f.synthetic_blocks;
    return BuildSyntheticModel(o);
  }
  return LoadModuleFromFile(f.model);
}

absl::Status Main(const Flags& f) {
  absl::StatusOr<ExportedModule> m = LoadOrBuild(f);
  if (!m.ok()) return m.status();
  if (f.run) {
    std::vector<Tensor> inputs;
    for (const std::string& p : f.inputs) {
      absl::StatusOr<Tensor> t = ReadNpy(p);
      if (!t.ok()) return t.status();
      inputs.push_back(*std::move(t));
    }
    ExecuteOptions opts;
    opts.seed = f.seed;
    absl::StatusOr<ExecutionResult> res = Execute(*m, inputs, opts);
    if (!res.ok()) return res.status();
    std::cout << "updated_state=" << absl::StrJoin(res->updated_state, ",")
              << "\n";
    if (!f.out_dir.empty()) {
      std::ofstream list(f.out_dir + "/outputs.txt");
      for (size_t i = 0; i < res->outputs.size(); ++i) {
        const NamedTensor& o = res->outputs[i];
        if (!o.tensor.defined()) {
          list << i << " " << (o.name.empty() ? "-" : o.name) << " none\n";
          continue;
        }
        const std::string file = absl::StrCat("output_", i, ".npy");
        absl::Status s = WriteNpy(o.tensor, f.out_dir + "/" + file);
        if (!s.ok()) return s;
        list << i << " " << (o.name.empty() ? "-" : o.name) << " " << file
             << "\n";
      }
    }
  }
  if (!f.save_module.empty()) {
    absl::Status s = SaveModuleToFile(*m, f.save_module);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace rewire

int main(int argc, char** argv) {
  rewire::Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](const char* name) -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "bridge_runner: " << name << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") f.model = next("--model");
    else if (a == "--input") f.inputs.push_back(next("--input"));
    else if (a == "--out_dir") f.out_dir = next("--out_dir");
    else if (a == "--save_module") f.save_module = next("--save_module");
    else if (a == "--seed") f.seed = std::stoull(next("--seed"));
    else if (a == "--no_run") f.run = false;
    else if (a == "--synthetic_blocks")
      f.synthetic_blocks = std::stoll(next("--synthetic_blocks"));
    else {
      std::cerr << "bridge_runner: unknown flag " << a << "\n";
      return 2;
    }
  }
  if (f.model.empty() && f.synthetic_blocks == 0) {
    std::cerr << "bridge_runner: --model or --synthetic_blocks is required\n";
    return 2;
  }
  const absl::Status s = rewire::Main(f);
  if (!s.ok()) {
    std::cerr << "bridge_runner: " << s << "\n";
    return 1;
  }
  return 0;
}
