#include "tools/npy.h"

#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/types.h"
#include "kernels/tensor.h"

namespace rewire {
namespace tools {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// .npy 1.0 bytes with `header` (a dict literal) padded as NumPy pads it, then
// `data`.
std::string Npy(const std::string& header, const std::string& data) {
  std::string h = header;
  while ((10 + h.size() + 1) % 64 != 0) h.push_back(' ');
  h.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(h.size() & 0xff));
  out.push_back(static_cast<char>(h.size() >> 8));
  return out + h + data;
}

std::string Dict(const std::string& descr, const std::string& shape,
                 const std::string& order = "False") {
  return absl::StrCat("{'descr': '", descr, "', 'fortran_order': ", order,
                      ", 'shape': ", shape, ", }");
}

// A tensor of `dtype` whose bytes are 0, 1, 2, ... (bool: 0/1).
Tensor Pattern(ScalarType dtype, std::vector<int64_t> shape) {
  absl::StatusOr<Tensor> t = Tensor::Empty(dtype, std::move(shape));
  EXPECT_TRUE(t.ok()) << t.status();
  uint8_t* b = static_cast<uint8_t*>(t->raw_data());
  for (int64_t i = 0; i < t->nbytes(); ++i) {
    b[i] = static_cast<uint8_t>(dtype == ScalarType::kBool ? i % 2 : i * 37);
  }
  return *std::move(t);
}

struct DtypeCase {
  ScalarType dtype;
  const char* descr;
};

class NpyRoundTripTest : public ::testing::TestWithParam<DtypeCase> {};

TEST_P(NpyRoundTripTest, EncodeThenParseIsTheIdentity) {
  const DtypeCase& c = GetParam();
  for (const std::vector<int64_t>& shape :
       std::vector<std::vector<int64_t>>{{}, {0}, {5}, {2, 3}, {2, 0, 4},
                                         {1, 2, 3, 4}}) {
    Tensor t = Pattern(c.dtype, shape);
    absl::StatusOr<std::string> bytes = EncodeNpy(t);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    // Data starts on a 64-byte boundary, as NumPy writes it.
    const size_t header_len = static_cast<uint8_t>((*bytes)[8]) |
                              static_cast<uint8_t>((*bytes)[9]) << 8;
    EXPECT_EQ((10 + header_len) % 64, 0u);
    EXPECT_THAT(*bytes, HasSubstr(absl::StrCat("'descr': '", c.descr, "'")));
    absl::StatusOr<Tensor> back = ParseNpy(*bytes, "t.npy");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->dtype(), c.dtype);
    EXPECT_EQ(back->shape(), shape);
    ASSERT_EQ(back->nbytes(), t.nbytes());
    if (t.nbytes() > 0) {
      EXPECT_EQ(std::memcmp(back->raw_data(), t.raw_data(), t.nbytes()), 0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllDtypes, NpyRoundTripTest,
    ::testing::Values(DtypeCase{ScalarType::kFloat32, "<f4"},
                      DtypeCase{ScalarType::kFloat64, "<f8"},
                      DtypeCase{ScalarType::kFloat16, "<f2"},
                      DtypeCase{ScalarType::kInt64, "<i8"},
                      DtypeCase{ScalarType::kInt32, "<i4"},
                      DtypeCase{ScalarType::kInt16, "<i2"},
                      DtypeCase{ScalarType::kInt8, "|i1"},
                      DtypeCase{ScalarType::kUInt8, "|u1"},
                      DtypeCase{ScalarType::kBool, "|b1"}),
    [](const ::testing::TestParamInfo<DtypeCase>& info) {
      return std::string(ScalarTypeShortName(info.param.dtype));
    });

TEST(NpyTest, ShapeSpellings) {
  // 0-d, 1-d with its trailing comma, and an empty array.
  absl::StatusOr<std::string> scalar = EncodeNpy(Pattern(ScalarType::kFloat32, {}));
  ASSERT_TRUE(scalar.ok());
  EXPECT_THAT(*scalar, HasSubstr("'shape': (), }"));
  absl::StatusOr<std::string> vec = EncodeNpy(Pattern(ScalarType::kInt64, {3}));
  ASSERT_TRUE(vec.ok());
  EXPECT_THAT(*vec, HasSubstr("'shape': (3,), }"));
  absl::StatusOr<Tensor> t = ParseNpy(Npy(Dict("<f4", "(0, 3)"), ""), "e.npy");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->shape(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(t->numel(), 0);
}

TEST(NpyTest, AcceptsWhatNumpyWrites) {
  // Keys in another order, double quotes, version 2.0 framing, '=' order.
  std::string data(8, '\0');
  EXPECT_TRUE(ParseNpy(Npy("{'shape': (2,), 'fortran_order': False, "
                           "'descr': '<f4'}", data), "a.npy").ok());
  EXPECT_TRUE(ParseNpy(Npy(Dict("=f4", "(2,)"), data), "a.npy").ok());
  EXPECT_TRUE(ParseNpy(Npy(Dict("<i1", "(2,)"), "\x01\x02"), "a.npy").ok());
  std::string v2 = Npy(Dict("<f4", "(2,)"), data);
  v2[6] = '\x02';
  const std::string len = v2.substr(8, 2);
  v2 = v2.substr(0, 8) + len + std::string(2, '\0') + v2.substr(10);
  absl::StatusOr<Tensor> t = ParseNpy(v2, "v2.npy");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->numel(), 2);
}

// Every malformed input is InvalidArgument naming the file.
void ExpectRefused(const std::string& bytes, const std::string& why) {
  absl::StatusOr<Tensor> t = ParseNpy(bytes, "bad.npy");
  ASSERT_FALSE(t.ok()) << why;
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << why;
  EXPECT_THAT(t.status().message(), AllOf(HasSubstr("bad.npy"), HasSubstr(why)));
}

TEST(NpyTest, MalformedHeadersAreRefused) {
  const std::string good = Npy(Dict("<f4", "(2,)"), std::string(8, '\0'));
  ExpectRefused("", "magic");
  ExpectRefused("\x93NUMPY\x01", "magic");
  ExpectRefused("PK\x03\x04 not numpy at all", "magic");
  std::string v9 = good;
  v9[6] = '\x09';
  ExpectRefused(v9, "format version 9");
  ExpectRefused(good.substr(0, 30), "truncated");
  std::string v2 = good.substr(0, 8) + "\x01";  // version 2 needs 4 length bytes
  v2[6] = '\x02';
  v2 += std::string(2, '\0');
  ExpectRefused(v2, "truncated header");
  std::string huge_header = good;
  huge_header[6] = '\x02';
  huge_header = huge_header.substr(0, 8) + std::string("\xff\xff\xff\x7f", 4) +
                huge_header.substr(10);
  ExpectRefused(huge_header, "oversized header");
  ExpectRefused(Npy("not a dict", ""), "not a dict");
  ExpectRefused(Npy("{'descr': '<f4', 'fortran_order': False}", ""),
                "lacks");
  ExpectRefused(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                    "'extra': 1}", std::string(8, '\0')),
                "unknown header key 'extra'");
  ExpectRefused(Npy(Dict("<f4", "(2, -1)"), ""), "negative");
  ExpectRefused(Npy(Dict("<f4", "(2 3)"), ""), "malformed 'shape' tuple");
  ExpectRefused(Npy(Dict("<f4", "(a,)"), ""), "'shape' holds 'a'");
  ExpectRefused(Npy(Dict("<f4", "(2,)", "Maybe"), std::string(8, '\0')),
                "'fortran_order' is not True/False");
  ExpectRefused(Npy(Dict("<f4", "(2,)") + " junk", std::string(8, '\0')),
                "trailing");
}

// Each leniency of the old header parser, now refused: numbers and descrs
// spelled other than np.save spells them, keys given twice or unknown,
// values of the wrong type, dims that overflow.
TEST(NpyTest, HeaderParserIsStrict) {
  const std::string f8(8, '\0');
  // descr: byte order, kind, decimal size; nothing else.
  ExpectRefused(Npy(Dict("<f+4", "(2,)"), f8), "dtype '<f+4'");
  ExpectRefused(Npy(Dict("<f 4", "(2,)"), f8), "dtype '<f 4'");
  ExpectRefused(Npy(Dict("<f04", "(2,)"), f8), "dtype '<f04'");
  ExpectRefused(Npy(Dict("<f4 ", "(2,)"), f8), "dtype '<f4 '");
  ExpectRefused(Npy(Dict(" <f4", "(2,)"), f8), "dtype ' <f4'");
  ExpectRefused(Npy(Dict("!f4", "(2,)"), f8), "dtype '!f4'");
  ExpectRefused(Npy(Dict("<f", "(2,)"), f8), "dtype '<f'");
  ExpectRefused(Npy("{'descr': [('a', '<f4')], 'fortran_order': False, "
                    "'shape': (2,)}", f8),
                "'descr' is not a string");
  // Each key once.
  ExpectRefused(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), "
                    "'shape': (1,)}", f8),
                "header key 'shape' twice");
  ExpectRefused(Npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': "
                    "False, 'shape': (2,)}", f8),
                "header key 'descr' twice");
  ExpectRefused(Npy("{'descr': '<f4', 'fortran_order': False, "
                    "'fortran_order': False, 'shape': (2,)}", f8),
                "header key 'fortran_order' twice");
  // Known keys only.
  ExpectRefused(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                    "'Shape': (2,)}", f8),
                "unknown header key 'Shape'");
  // fortran_order is a bool.
  ExpectRefused(Npy(Dict("<f4", "(2,)", "0"), f8),
                "'fortran_order' is not True/False");
  ExpectRefused(Npy(Dict("<f4", "(2,)", "'False'"), f8),
                "'fortran_order' is not True/False");
  ExpectRefused(Npy(Dict("<f4", "(2,)", "None"), f8),
                "'fortran_order' is not True/False");
  ExpectRefused(Npy(Dict("<f4", "(2,)", "False_"), f8),
                "'fortran_order' is not True/False");
  // shape is a tuple of non-negative decimal ints that fit int64.
  ExpectRefused(Npy(Dict("<f4", "[2]"), f8), "'shape' is not a tuple");
  ExpectRefused(Npy(Dict("<f4", "2"), f8), "'shape' is not a tuple");
  ExpectRefused(Npy(Dict("<f4", "(2)"), f8), "'shape' is not a tuple");
  ExpectRefused(Npy(Dict("<f4", "(-2,)"), f8), "negative dim");
  ExpectRefused(Npy(Dict("<f4", "(+2,)"), f8), "other than a dim");
  ExpectRefused(Npy(Dict("<f4", "(2.0,)"), f8), "malformed 'shape' tuple");
  ExpectRefused(Npy(Dict("<f4", "(02,)"), f8), "'shape' holds '02'");
  ExpectRefused(Npy(Dict("<f4", "(2L,)"), f8), "'shape' holds '2L'");
  ExpectRefused(Npy(Dict("<f4", "(0x2,)"), f8), "'shape' holds '0x2'");
  ExpectRefused(Npy(Dict("<f4", "(1_0,)"), f8), "'shape' holds '1_0'");
  ExpectRefused(Npy(Dict("<f4", "(9223372036854775808,)"), f8),
                "'shape' holds '9223372036854775808'");
  ExpectRefused(Npy(Dict("<f4", "(4294967296, 4294967296)"), f8), "overflow");
  ExpectRefused(Npy(Dict("<f4", "(2,,)"), f8), "other than a dim");
  // The largest dim is a dim (then refused for the data it would need).
  ExpectRefused(Npy(Dict("<u1", "(9223372036854775807,)"), f8), "needs");
  // What np.save writes still reads.
  EXPECT_TRUE(ParseNpy(Npy(Dict("<f4", "(2, 1,)"), f8), "ok.npy").ok());
  EXPECT_TRUE(ParseNpy(Npy(Dict("<f4", "(0,)"), ""), "ok.npy").ok());
}

TEST(NpyTest, UnsupportedDtypesAreRefused) {
  ExpectRefused(Npy(Dict("<c8", "(1,)"), std::string(8, '\0')), "dtype '<c8'");
  ExpectRefused(Npy(Dict("|O", "(1,)"), std::string(8, '\0')), "dtype '|O'");
  ExpectRefused(Npy(Dict("<u4", "(1,)"), std::string(4, '\0')), "dtype '<u4'");
  ExpectRefused(Npy(Dict("|f4", "(1,)"), std::string(4, '\0')), "dtype '|f4'");
  // A bool array whose bytes are not 0/1 is not a bool array.
  ExpectRefused(Npy(Dict("|b1", "(2,)"), "\x01\x02"), "0/1");
}

TEST(NpyTest, BigEndianAndFortranOrderAreRefused) {
  ExpectRefused(Npy(Dict(">f4", "(2,)"), std::string(8, '\0')), "big-endian");
  ExpectRefused(Npy(Dict(">i8", "(1,)"), std::string(8, '\0')), "big-endian");
  ExpectRefused(Npy(Dict("<f4", "(2, 2)", "True"), std::string(16, '\0')),
                "Fortran-order");
  // One-byte types have no byte order; '>' is harmless there.
  EXPECT_TRUE(ParseNpy(Npy(Dict(">u1", "(2,)"), "ab"), "u.npy").ok());
  // A Fortran-order array with at most one non-unit dim has the same bytes
  // in both orders, but the codec promises to refuse the flag outright.
  ExpectRefused(Npy(Dict("<f4", "(2,)", "True"), std::string(8, '\0')),
                "Fortran-order");
}

TEST(NpyTest, TruncatedOrOverlongDataIsRefused) {
  ExpectRefused(Npy(Dict("<f4", "(2, 3)"), std::string(23, '\0')),
                "the file holds 23 data bytes");
  ExpectRefused(Npy(Dict("<f8", "(1,)"), std::string(9, '\0')),
                "the file holds 9 data bytes");
  ExpectRefused(Npy(Dict("<f4", "()"), ""), "the file holds 0 data bytes");
}

TEST(NpyTest, HugeDeclaredShapesAreRefusedWithoutAllocating) {
  // With a per-thread tensor limit of 1 KiB any allocation attempt for these
  // shapes would fail with OutOfRange; getting the data-size error instead
  // shows the size check comes first.
  ScopedTensorLimits limits(1024, 1024);
  ExpectRefused(Npy(Dict("<f4", "(1099511627776, 1048576)"), "tiny"),
                "the file holds 4 data bytes");
  ExpectRefused(Npy(Dict("<f8", "(4611686018427387904,)"), "x"),
                "the file holds 1 data bytes");
  // Overflowing int64 altogether.
  ExpectRefused(Npy(Dict("<f4", "(9223372036854775807, 9223372036854775807)"),
                    ""),
                "bad.npy");
  ExpectRefused(Npy(Dict("<f4", "(99999999999999999999999,)"), ""),
                "which is not a dim");
  std::string dims = "(";
  for (int i = 0; i < 65; ++i) dims += "1, ";
  ExpectRefused(Npy(Dict("<f4", dims + ")"), std::string(4, '\0')),
                "more than 64 dims");
}

TEST(NpyTest, EncodeRefusesWhatNumpyCannotHold) {
  EXPECT_EQ(EncodeNpy(Tensor()).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<Tensor> bf16 = Tensor::Empty(ScalarType::kBFloat16, {2});
  ASSERT_TRUE(bf16.ok());
  absl::Status s = EncodeNpy(*bf16).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("bfloat16"));
}

TEST(NpyTest, FilesRoundTripAndErrorsNameThePath) {
  const char* root = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(root ? root : "/tmp") + "/x.npy";
  Tensor t = Pattern(ScalarType::kInt32, {3, 2});
  ASSERT_TRUE(WriteNpyFile(path, t).ok());
  absl::StatusOr<Tensor> back = ReadNpyFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(std::memcmp(back->raw_data(), t.raw_data(), t.nbytes()), 0);
  absl::Status s = ReadNpyFile(path + ".absent").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("x.npy.absent"));
  EXPECT_THAT(ReadNpyFile("/dev/zero").status().message(),
              HasSubstr("/dev/zero"));
}

// Neither blocks (a FIFO without a writer) nor reads without end (/dev/zero).
TEST(NpyTest, FifosAndDevicesAreRefusedNamingThePath) {
  const char* root = std::getenv("TEST_TMPDIR");
  const std::string fifo = std::string(root ? root : "/tmp") + "/pipe.npy";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  absl::Status s = ReadNpyFile(fifo).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr(fifo), HasSubstr("FIFO")));
  s = ReadNpyFile("/dev/zero").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("/dev/zero"), HasSubstr("device")));
}

}  // namespace
}  // namespace tools
}  // namespace rewire
