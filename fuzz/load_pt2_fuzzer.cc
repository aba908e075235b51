// Fuzz target (h): the .pt2 reader. Byte 0 picks what the rest is:
//   even: a whole archive (LoadPt2FromBytes: the zip layer, the configs,
//         model.json and the weights);
//   odd:  a model.json alone, translated with zero-filled state of the
//         sizes its signature gives, so that mutations reach the
//         translation (an archive's CRCs make mutated entries unreadable).
// Properties: a module either reader accepts passes the verifier, and its
// .pb form loads again and saves to the same bytes (load_round_trip.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"
#include "fuzz/load_round_trip.h"
#include "google/protobuf/stubs/logging.h"
#include "ir/serialization.h"
#include "ir/verifier.h"
#include "pt2/program_json.h"
#include "pt2/pt2_reader.h"

namespace rewire {
namespace fuzz {
namespace {

absl::StatusOr<ExportedModule> FromProgramJson(absl::string_view text) {
  absl::StatusOr<nlohmann::json> program = pt2::ParseJson(text, "model.json");
  if (!program.ok()) return program.status();
  const LoadOptions options = FuzzLoadOptions();
  absl::StatusOr<proto::GraphModule> proto = pt2::ProgramToProto(
      *program,
      [](const std::string&, const std::string&, int64_t bytes)
          -> absl::StatusOr<std::string> {
        return std::string(static_cast<size_t>(bytes), '\0');
      },
      options.max_total_tensor_bytes, "model.json");
  if (!proto.ok()) return proto.status();
  return ModuleFromProto(*proto, options);
}

void Check(const ExportedModule& module) {
  absl::Status verified = Verify(module.graph());
  FUZZ_CHECK(verified.ok(), "a loaded .pt2 fails Verify: " +
                                std::string(verified.message()));
  absl::StatusOr<std::string> saved =
      SerializeModule(module, Format::kBinaryProto);
  if (!saved.ok()) return;  // non-UTF-8 strings cannot be saved as proto3
  LoadRoundTrip(*saved, Format::kBinaryProto);
  absl::StatusOr<ExportedModule> reloaded =
      LoadModuleFromBytes(*saved, Format::kBinaryProto, FuzzLoadOptions());
  FUZZ_CHECK(reloaded.ok(), "the .pb of a loaded .pt2 does not load: " +
                                std::string(reloaded.status().message()));
}

}  // namespace
}  // namespace fuzz
}  // namespace rewire

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  absl::StatusOr<rewire::ExportedModule> module =
      (data[0] & 1) == 0
          ? rewire::pt2::LoadPt2FromBytes(rest, "fuzz.pt2",
                                          rewire::fuzz::FuzzLoadOptions())
          : rewire::fuzz::FromProgramJson(rest);
  if (module.ok()) rewire::fuzz::Check(*module);
  return 0;
}
