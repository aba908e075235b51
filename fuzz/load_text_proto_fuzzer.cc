// Fuzz target (b): protobuf text-format load + verify + save/reload identity.
// Input: a .pbtxt file. See load_round_trip.h for the properties checked.
#include <cstddef>
#include <cstdint>

#include "fuzz/load_round_trip.h"
#include "google/protobuf/stubs/logging.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The text parser logs every syntax error; the noise hides findings.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rewire::fuzz::LoadRoundTrip(
      absl::string_view(reinterpret_cast<const char*>(data), size),
      rewire::Format::kTextProto);
  return 0;
}
