// Fuzz target (a): binary protobuf load + verify + save/reload identity.
// Input: a .pb file. See load_round_trip.h for the properties checked.
#include <cstddef>
#include <cstdint>

#include "fuzz/load_round_trip.h"
#include "google/protobuf/stubs/logging.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // protobuf logs every malformed UTF-8 string; the noise hides findings.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rewire::fuzz::LoadRoundTrip(
      absl::string_view(reinterpret_cast<const char*>(data), size),
      rewire::Format::kBinaryProto);
  return 0;
}
