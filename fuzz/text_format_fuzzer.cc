// Fuzz target (c): the readable text form parser (ir/text_format.h).
//
// Properties: parsing never crashes or recurses without bound; a text that
// parses prints to a canonical text that parses again and prints to the same
// text (print -> parse -> print is the identity, as text_format.h promises);
// the verifier runs on anything the parser accepts without crashing (it may
// report problems: the parser checks syntax and references, not schemas);
// what the text-form loader accepts (the parser plus the checks every loader
// shares) saves in every format and loads back (fuzz/load_round_trip.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"
#include "fuzz/load_round_trip.h"
#include "ir/text_format.h"
#include "ir/verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  rewire::TextParseOptions options;
  options.max_nesting = 16;
  // Fragments exercise the parser's other mode; pick it from the input so
  // both modes are reached without a format prefix.
  options.require_output = size == 0 || (data[size - 1] & 1) == 0;
  if (options.require_output) {
    rewire::fuzz::LoadRoundTrip(text, rewire::Format::kText);
  }
  auto graph = rewire::ParseGraph(text, options);
  if (!graph.ok()) return 0;
  (void)rewire::VerifyGraph(**graph);
  const std::string printed = rewire::PrintGraph(**graph);
  auto reparsed = rewire::ParseGraph(printed, options);
  FUZZ_CHECK(reparsed.ok(), "printed graph does not parse: " +
                                std::string(reparsed.status().message()) +
                                "\n" + printed);
  const std::string reprinted = rewire::PrintGraph(**reparsed);
  FUZZ_CHECK(reprinted == printed,
             "print -> parse -> print differs:\n" + printed + "---\n" +
                 reprinted);
  return 0;
}
