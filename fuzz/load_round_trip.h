// The shared body of the two protobuf load fuzzers: load with tight limits,
// then check the invariants a successful load promises.
//
// Properties (each a bug if broken): a module the loader accepts passes the
// verifier (the loader verifies before building IR, so the two must agree);
// saving it succeeds in every format (binary, text proto, readable text);
// what it saves loads again and saves to the same bytes (deterministic,
// lossless serialization).
#ifndef REWIRE_FUZZ_LOAD_ROUND_TRIP_H_
#define REWIRE_FUZZ_LOAD_ROUND_TRIP_H_

#include <string>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "ir/serialization.h"
#include "ir/verifier.h"

namespace rewire {
namespace fuzz {

// Small limits: the fuzzer must hit them (a 64 KiB input naming a 1e6-node
// graph or a 16 GiB tensor) rather than exhaust its RSS limit.
inline LoadOptions FuzzLoadOptions() {
  LoadOptions o;
  o.max_input_bytes = 1 << 20;
  o.max_nodes = 20000;
  o.max_total_tensor_bytes = 1 << 24;
  o.max_list_nesting = 16;
  o.max_dims = 16;
  return o;
}

inline void LoadRoundTrip(absl::string_view bytes, Format format) {
  auto module = LoadModuleFromBytes(bytes, format, FuzzLoadOptions());
  if (!module.ok()) return;
  absl::Status verified = Verify(module->graph());
  FUZZ_CHECK(verified.ok(), "loaded module fails Verify: " +
                                std::string(verified.message()));
  // The loaders share their checks (ir/load_checks.h), so what one accepts
  // saves in every format and loads back.
  for (Format out : {Format::kBinaryProto, Format::kTextProto, Format::kText}) {
    auto saved = SerializeModule(*module, out);
    FUZZ_CHECK(saved.ok(), "accepted module does not save: " +
                               std::string(saved.status().message()));
    auto reloaded = LoadModuleFromBytes(*saved, out, FuzzLoadOptions());
    FUZZ_CHECK(reloaded.ok(), "saved module does not reload: " +
                                  std::string(reloaded.status().message()));
    auto resaved = SerializeModule(*reloaded, out);
    FUZZ_CHECK(resaved.ok() && *resaved == *saved,
               "save(load(save(m))) != save(m)");
  }
}

}  // namespace fuzz
}  // namespace rewire

#endif  // REWIRE_FUZZ_LOAD_ROUND_TRIP_H_
