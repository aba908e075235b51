// Tests of ir/load_checks.h through every loader: the binary and text
// protobuf loaders and the readable text form's loader apply one set of
// checks. Each case is a graph written in the text form, built without any
// checks (ParseGraph) and encoded in every format it can be; every loader
// must then agree. For the hostile-but-accepted cases, whatever a loader
// accepts saves in every format, loads back and saves to the same bytes;
// the refused cases are refused by every loader with the same code. The
// rank-100000 graph is the regression of a text file that `rewire eval`
// turned into a .pb which `rewire info` refused.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/load_checks.h"
#include "ir/serialization.h"
#include "ir/text_format.h"

namespace rewire {
namespace {

using ::testing::HasSubstr;

constexpr Format kAllFormats[] = {Format::kBinaryProto, Format::kTextProto,
                                  Format::kText};

std::string FormatName(Format f) {
  switch (f) {
    case Format::kBinaryProto:
      return ".pb";
    case Format::kTextProto:
      return ".pbtxt";
    case Format::kText:
      return ".txt";
  }
  return "?";
}

// `text` in every format: the text itself, and the protobuf encodings of the
// graph it parses to (unchecked), when the graph can be encoded at all.
std::vector<std::pair<Format, std::string>> Encodings(const std::string& text) {
  std::vector<std::pair<Format, std::string>> out;
  out.emplace_back(Format::kText, text);
  TextParseOptions unlimited;
  unlimited.max_nesting = 1 << 20;
  absl::StatusOr<std::unique_ptr<Graph>> raw = ParseGraph(text, unlimited);
  EXPECT_TRUE(raw.ok()) << raw.status();
  if (!raw.ok()) return out;
  ExportedModule module(std::move(*raw));
  for (Format f : {Format::kBinaryProto, Format::kTextProto}) {
    absl::StatusOr<std::string> bytes = SerializeModule(module, f);
    if (bytes.ok()) out.emplace_back(f, *std::move(bytes));
  }
  return out;
}

// "1, 1, ..., 1": `rank` unit dims.
std::string UnitDims(int rank) {
  std::string dims;
  for (int i = 0; i < rank; ++i) absl::StrAppend(&dims, i ? ", " : "", "1");
  return dims;
}

// A placeholder with a "val" of `rank` unit dims.
std::string RankGraph(int rank) {
  return absl::StrCat("%x : f32[", UnitDims(rank),
                      "] = placeholder[target=x]\n", "return (%x,)\n");
}

// A node with `n` metadata keys.
std::string ManyKeysGraph(int n) {
  std::string meta;
  for (int i = 0; i < n; ++i) absl::StrAppend(&meta, i ? ", " : "", "k", i, "=", i);
  return absl::StrCat("%x = placeholder[target=x] {", meta, "}\nreturn (%x,)\n");
}

std::string NestedGraph(int depth) {
  return absl::StrCat("%x = placeholder[target=x]\n",
                      "%y = my.op(", std::string(depth, '['), "%x",
                      std::string(depth, ']'), ")\nreturn (%y,)\n");
}

struct Accepted {
  const char* what;
  std::string text;
};

std::vector<Accepted> AcceptedCases() {
  return {
      {"empty graph", "return ()\n"},
      {"rank at the limit", RankGraph(64)},
      {"metadata keys at the limit", ManyKeysGraph(1024)},
      {"lists nested to the limit", NestedGraph(32)},
      {"odd names",
       "%\"a b\" = placeholder[target=\"a b\"]\n"
       "%\"\\x1b[2J\\x00\" = aten.relu.default(%\"a b\")\n"
       "%\"\xc3\xa9\xe2\x80\xae\" = aten.relu.default(%\"\\x1b[2J\\x00\")\n"
       "return (%\"\xc3\xa9\xe2\x80\xae\",)\n"},
      {"extreme literals",
       "%x = placeholder[target=x]\n"
       "%y = my.op(%x, nan, inf, -inf, -0.0, 5e-324, "
       "-9223372036854775808, 9223372036854775807, \"\\x00\\n\\\"\")\n"
       "return (%y,)\n"},
      {"huge dims that fit int64",
       "%x : f32[4611686018427387904, 1] = placeholder[target=x]\n"
       "%y : f32[0, 9223372036854775807] = aten.relu.default(%x)\n"
       "return (%y,)\n"},
      {"symbolic dims, tuples with None, tensors under other keys",
       "%x : f32[s0, 2*s1 + 1]/[7, 1]@cuda:1+grad = placeholder[target=x] "
       "{hint=(f32[2], None, i64[]), other=b8[3]/[]}\n"
       "return (%x,)\n"},
      {"placeholder default, output with a name and kwargs",
       "%x = placeholder[target=x](3)\n"
       "%w = get_attr[target=\"w.0\"]\n"
       "%out = output[target=output](%x, %w, k=1)\n"},
  };
}

struct Refused {
  const char* what;
  std::string text;
  absl::StatusCode code;
  std::string message;
};

std::vector<Refused> RefusedCases() {
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  const auto kExhausted = absl::StatusCode::kResourceExhausted;
  return {
      {"rank over the limit", RankGraph(65), kInvalid, "rank 65"},
      {"rank 100000 (regression)", RankGraph(100000), kInvalid, "rank 100000"},
      {"element count overflowing int64",
       "%x : f32[4611686018427387904, 2] = placeholder[target=x]\n"
       "return (%x,)\n",
       kInvalid, "overflow"},
      {"overflow under another key",
       "%x = placeholder[target=x] {hint=f32[4611686018427387904, 4]}\n"
       "return (%x,)\n",
       kInvalid, "overflow"},
      {"negative dim under another key",
       "%x = placeholder[target=x] {hint=f32[-1]}\nreturn (%x,)\n", kInvalid,
       "negative"},
      {"strides that disagree with the rank under another key",
       "%x = placeholder[target=x] {hint=f32[2, 3]/[1]}\nreturn (%x,)\n",
       kInvalid, "strides"},
      {"one metadata key over the limit", ManyKeysGraph(1025), kExhausted,
       "1025 metadata keys, over the limit of 1024"},
      {"40,000 metadata keys", ManyKeysGraph(40000), kExhausted,
       "over the limit of 1024"},
      {"placeholder with two arguments",
       "%x = placeholder[target=x](1, 2)\nreturn (%x,)\n", kInvalid,
       "placeholder with arguments"},
      {"get_attr with an argument",
       "%x = placeholder[target=x]\n%w = get_attr[target=w](%x)\n"
       "return (%w,)\n",
       kInvalid, "get_attr with arguments"},
      {"verifier: getitem out of range",
       "%x = placeholder[target=x]\n"
       "%s = aten.native_batch_norm.default(%x, None, None, None, None, True, "
       "0.1, 1e-05)\n%g = getitem(%s, 5)\nreturn (%g,)\n",
       kInvalid, "getitem index 5 is out of range"},
      {"name that is not UTF-8",
       "%\"\\xff\" = placeholder[target=x]\nreturn (%\"\\xff\",)\n", kInvalid,
       "UTF-8"},
      {"string argument that is not UTF-8",
       "%x = placeholder[target=x]\n%y = my.op(%x, \"\\xc3\")\n"
       "return (%y,)\n",
       kInvalid, "UTF-8"},
  };
}

TEST(LoadChecksTest, WhatAnyLoaderAcceptsSavesAndReloadsInEveryFormat) {
  for (const Accepted& c : AcceptedCases()) {
    SCOPED_TRACE(c.what);
    const auto encodings = Encodings(c.text);
    ASSERT_EQ(encodings.size(), 3u) << "every accepted case encodes as proto";
    for (const auto& [in_format, bytes] : encodings) {
      SCOPED_TRACE("loaded from " + FormatName(in_format));
      absl::StatusOr<ExportedModule> m = LoadModuleFromBytes(bytes, in_format);
      ASSERT_TRUE(m.ok()) << m.status();
      for (Format out : kAllFormats) {
        SCOPED_TRACE("saved as " + FormatName(out));
        absl::StatusOr<std::string> saved = SerializeModule(*m, out);
        ASSERT_TRUE(saved.ok()) << saved.status();
        absl::StatusOr<ExportedModule> back = LoadModuleFromBytes(*saved, out);
        ASSERT_TRUE(back.ok()) << back.status();
        absl::StatusOr<std::string> resaved = SerializeModule(*back, out);
        ASSERT_TRUE(resaved.ok()) << resaved.status();
        EXPECT_EQ(*resaved, *saved);
      }
    }
  }
}

TEST(LoadChecksTest, EveryLoaderRefusesTheSameInputs) {
  for (const Refused& c : RefusedCases()) {
    SCOPED_TRACE(c.what);
    for (const auto& [format, bytes] : Encodings(c.text)) {
      SCOPED_TRACE("loaded from " + FormatName(format));
      absl::Status s = LoadModuleFromBytes(bytes, format).status();
      EXPECT_EQ(s.code(), c.code) << s;
      EXPECT_THAT(s.message(), HasSubstr(c.message));
    }
  }
}

TEST(LoadChecksTest, ErrorsNameTheNodeAndLimitsAreOptions) {
  const std::string text = ManyKeysGraph(5);
  LoadOptions tight;
  tight.max_meta_keys_per_node = 4;
  for (const auto& [format, bytes] : Encodings(text)) {
    SCOPED_TRACE(FormatName(format));
    absl::Status s = LoadModuleFromBytes(bytes, format, tight).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(s.message(), HasSubstr("node 'x'"));
    EXPECT_THAT(s.message(), HasSubstr("limit of 4"));
    EXPECT_TRUE(LoadModuleFromBytes(bytes, format).ok());
  }
  LoadOptions low_rank;
  low_rank.max_dims = 3;
  for (const auto& [format, bytes] : Encodings(RankGraph(4))) {
    SCOPED_TRACE(FormatName(format));
    absl::Status s = LoadModuleFromBytes(bytes, format, low_rank).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("node 'x'"));
    EXPECT_THAT(s.message(), HasSubstr("rank 4 exceeds the limit of 3"));
  }
  LoadOptions few_nodes;
  few_nodes.max_nodes = 1;
  EXPECT_EQ(LoadModuleFromBytes(RankGraph(1), Format::kText, few_nodes)
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  LoadOptions shallow;
  shallow.max_list_nesting = 2;
  EXPECT_EQ(LoadModuleFromBytes(NestedGraph(3), Format::kText, shallow)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  LoadOptions small;
  small.max_input_bytes = 10;
  EXPECT_EQ(
      LoadModuleFromBytes(RankGraph(1), Format::kText, small).status().code(),
      absl::StatusCode::kResourceExhausted);
}

// A name, key, target or path from a file is escaped in every message about
// it: no ESC, NUL or other control byte reaches a terminal, and the escaped
// name is still there to read.
TEST(LoadChecksTest, ErrorsNeverCarryRawControlBytes) {
  // "\x1b[2J\0" (clear screen, then a NUL) and a C1 CSI, in the text form's
  // and protobuf text's spelling.
  const std::string kText = "\\x1b[2J\\x00\\xc2\\x9b";
  const std::string kProto = "\\033[2J\\000\\302\\233";
  const std::string kShown = "\\x1b[2J\\x00\\xc2\\x9b";
  struct Case {
    Format format;
    std::string input;
  };
  const std::string node = "%\"" + kText + "\"";
  const std::vector<Case> cases = {
      // Verifier: wrong arity, naming the node.
      {Format::kText, "%x = placeholder[target=x]\n" + node +
                          " = aten.relu.default(%x, 1, 2)\nreturn (" + node +
                          ",)\n"},
      // Parser: reference to an undefined node.
      {Format::kText, "%y = aten.relu.default(" + node + ")\nreturn (%y,)\n"},
      // Parser: duplicate metadata key, and an unknown device.
      {Format::kText, "%x = placeholder[target=x] {\"" + kText + "\"=1, \"" +
                          kText + "\"=2}\nreturn (%x,)\n"},
      {Format::kText, "%x = placeholder[target=x]\n%y = my.op(device(\"" +
                          kText + "\"))\nreturn (%y,)\n"},
      // Schema: an unknown keyword.
      {Format::kText,
       "%x = placeholder[target=x]\n%y = aten.relu.default(%x, "
       "\"" +
           kText + "\"=1)\nreturn (%y,)\n"},
      // Shared checks: rank over the limit under the key.
      {Format::kText, "%x = placeholder[target=x] {\"" + kText + "\"=f32[" +
                          UnitDims(65) + "]}\nreturn (%x,)\n"},
      // Protobuf loader: a dangling reference, a duplicate key, a tensor.
      {Format::kTextProto,
       "ir_version: 1 graph { nodes { name: \"y\" op: OP_KIND_CALL_FUNCTION "
       "target: \"aten.relu.default\" args { node: \"" +
           kProto +
           "\" } } "
           "nodes { name: \"output\" op: OP_KIND_OUTPUT args { node: \"y\" } } "
           "}"},
      {Format::kTextProto,
       "ir_version: 1 graph { nodes { name: \"" + kProto +
           "\" op: "
           "OP_KIND_PLACEHOLDER target: \"x\" meta { key: \"" +
           kProto +
           "\" "
           "value { int_value: 1 } } meta { key: \"" +
           kProto +
           "\" value { "
           "int_value: 1 } } } nodes { name: \"output\" op: OP_KIND_OUTPUT } "
           "}"},
      {Format::kTextProto,
       "ir_version: 1 graph { nodes { name: \"output\" op: OP_KIND_OUTPUT } } "
       "tensors { name: \"" +
           kProto +
           "\" role: TENSOR_ROLE_BUFFER dtype: "
           "DTYPE_FLOAT32 shape: 2 device: \"cpu\" data: \"abc\" }"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    absl::Status s = LoadModuleFromBytes(c.input, c.format).status();
    ASSERT_FALSE(s.ok());
    const std::string m(s.message());
    EXPECT_THAT(m, HasSubstr(kShown));
    for (char ch : m) {
      const unsigned char u = static_cast<unsigned char>(ch);
      EXPECT_TRUE(u == '\n' || (u >= 0x20 && u != 0x7f && u != 0xc2))
          << "raw byte " << static_cast<int>(u) << " in: " << m;
    }
  }
  // A path is input too.
  absl::Status s =
      LoadModuleFromFile(std::string("/nonexistent/\x1b[2J\x07.pb")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent/\\x1b[2J\\x07.pb"));
}

}  // namespace
}  // namespace rewire
