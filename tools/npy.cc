// The header is a Python dict literal; rather than a general literal parser we
// accept exactly the three keys NumPy writes ('descr', 'fortran_order',
// 'shape'), each once and in any order, with the value spellings np.save
// produces: descr "<f4"-style, fortran_order a bool, shape a tuple of
// decimal ints.
#include "tools/npy.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file.h"
#include "base/printable.h"
#include "ir/status_macros.h"

namespace rewire {
namespace tools {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kMaxHeader = 1 << 16;

static_assert(sizeof(float) == 4 && sizeof(double) == 8,
              "npy assumes IEEE float32/float64");

bool HostIsLittleEndian() {
  const uint16_t one = 1;
  uint8_t b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

absl::Status Bad(absl::string_view what, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "'", Printable(what), "': not a supported .npy file: ", why));
}

// A cursor over the header dict. Strict on purpose: the header is a Python
// literal, and every leniency (a sign or blank inside a number, a key given
// twice) is a second spelling of some array that NumPy itself would read
// differently or refuse.
class HeaderParser {
 public:
  explicit HeaderParser(absl::string_view s) : s_(s) {}
  void SkipSpace() {
    while (i_ < s_.size() && absl::ascii_isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool Consume(char c) {
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Peek(char c) {
    SkipSpace();
    return i_ < s_.size() && s_[i_] == c;
  }
  // A quoted string without escapes (NumPy's keys and descrs have none).
  bool String(std::string* out) {
    SkipSpace();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) return false;
    char q = s_[i_++];
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\' || absl::ascii_iscntrl(static_cast<unsigned char>(s_[i_]))) {
        return false;
      }
      ++i_;
    }
    if (i_ >= s_.size()) return false;
    *out = std::string(s_.substr(start, i_ - start));
    ++i_;
    return true;
  }
  // A run of letters, digits and '_' (True, False, a dim, or junk to refuse).
  bool Word(std::string* out) {
    SkipSpace();
    size_t start = i_;
    while (i_ < s_.size() &&
           (absl::ascii_isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) {
      ++i_;
    }
    *out = std::string(s_.substr(start, i_ - start));
    return !out->empty();
  }
  bool AtEnd() {
    SkipSpace();
    return i_ >= s_.size();
  }

 private:
  absl::string_view s_;
  size_t i_ = 0;
};

// A Python int literal as NumPy writes dims: decimal digits, no sign, no
// leading zeros, no '_' or 'L', at most INT64_MAX.
bool ParseDim(absl::string_view digits, int64_t* out) {
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return false;
  int64_t v = 0;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    const int d = c - '0';
    if (v > (INT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

struct DtypeInfo {
  ScalarType dtype;
  char kind;  // NumPy's type character: 'f', 'i', 'u' or 'b'
  int size;
};

// Every dtype rewire's tensors and NumPy share a byte layout for. bfloat16
// and complex are left out: NumPy has no bfloat16, and no rewire kernel
// produces or consumes complex tensors from files.
constexpr DtypeInfo kTypes[] = {
    {ScalarType::kFloat32, 'f', 4}, {ScalarType::kFloat64, 'f', 8},
    {ScalarType::kFloat16, 'f', 2}, {ScalarType::kInt64, 'i', 8},
    {ScalarType::kInt32, 'i', 4},   {ScalarType::kInt16, 'i', 2},
    {ScalarType::kInt8, 'i', 1},    {ScalarType::kUInt8, 'u', 1},
    {ScalarType::kBool, 'b', 1},
};
constexpr char kSupported[] =
    "float32, float64, float16, int64, int32, int16, int8, uint8 and bool";

}  // namespace

absl::StatusOr<Tensor> ParseNpy(absl::string_view bytes, absl::string_view what) {
  if (!HostIsLittleEndian()) {
    return absl::UnimplementedError(".npy support needs a little-endian host");
  }
  if (bytes.size() < kMagicLen + 4 ||
      bytes.substr(0, kMagicLen) != absl::string_view(kMagic, kMagicLen)) {
    return Bad(what, "missing the \\x93NUMPY magic");
  }
  const uint8_t major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0;
  size_t header_start = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) |
                 (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return Bad(what, "truncated header");
    for (int k = 3; k >= 0; --k) {
      header_len = (header_len << 8) | static_cast<uint8_t>(bytes[8 + k]);
    }
    header_start = 12;
  } else {
    return Bad(what, absl::StrCat("format version ", major, " (1-3 are read)"));
  }
  if (header_len > kMaxHeader || header_start + header_len > bytes.size()) {
    return Bad(what, "truncated or oversized header");
  }
  HeaderParser p(bytes.substr(header_start, header_len));
  std::string descr;
  bool have_descr = false, have_order = false, have_shape = false;
  std::vector<int64_t> shape;
  if (!p.Consume('{')) return Bad(what, "header is not a dict");
  while (!p.Consume('}')) {
    std::string key;
    if (!p.String(&key) || !p.Consume(':')) {
      return Bad(what, "malformed header dict");
    }
    bool* have = key == "descr"           ? &have_descr
                 : key == "fortran_order" ? &have_order
                 : key == "shape"         ? &have_shape
                                          : nullptr;
    if (have == nullptr) {
      return Bad(what,
                 absl::StrCat("unknown header key '", Printable(key), "'"));
    }
    if (*have)
      return Bad(what, absl::StrCat("header key '", Printable(key), "' twice"));
    *have = true;
    if (key == "descr") {
      if (!p.String(&descr)) return Bad(what, "'descr' is not a string");
    } else if (key == "fortran_order") {
      std::string v;
      if (!p.Word(&v) || (v != "False" && v != "True")) {
        return Bad(what, "'fortran_order' is not True/False");
      }
      if (v == "True") {
        return Bad(what, "Fortran-order arrays are not supported (save a "
                         "C-contiguous array, e.g. np.ascontiguousarray)");
      }
    } else {
      if (!p.Consume('(')) return Bad(what, "'shape' is not a tuple");
      bool comma = false;
      while (!p.Consume(')')) {
        std::string digits;
        int64_t d = 0;
        if (p.Peek('-')) return Bad(what, "'shape' holds a negative dim");
        if (!p.Word(&digits)) {
          return Bad(what, "'shape' holds something other than a dim");
        }
        if (!ParseDim(digits, &d)) {
          return Bad(what, absl::StrCat("'shape' holds '", digits,
                                        "', which is not a dim (a decimal "
                                        "integer below 2^63)"));
        }
        if (shape.size() >= 64) return Bad(what, "more than 64 dims");
        shape.push_back(d);
        comma = p.Consume(',');
        if (!comma && !p.Peek(')')) {
          return Bad(what, "malformed 'shape' tuple");
        }
      }
      // "(3)" is the int 3 in Python, not a tuple.
      if (shape.size() == 1 && !comma) {
        return Bad(what, "'shape' is not a tuple (one dim needs a trailing "
                         "comma: (3,))");
      }
    }
    if (!p.Consume(',') && !p.Peek('}')) {
      return Bad(what, "malformed header dict");
    }
  }
  if (!p.AtEnd()) return Bad(what, "trailing bytes after the header dict");
  if (!have_descr || !have_order || !have_shape) {
    return Bad(what, "header lacks 'descr', 'fortran_order' or 'shape'");
  }
  // descr: a byte order character, a kind character and the item size in
  // decimal ("<f4"), nothing else.
  const char order = descr.size() >= 3 ? descr[0] : '\0';
  const char kind = descr.size() >= 3 ? descr[1] : '\0';
  int size = 0;
  for (size_t k = 2; k < descr.size() && k < 4; ++k) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(descr[k]))) {
      size = 0;
      break;
    }
    size = size * 10 + (descr[k] - '0');
  }
  if (descr.size() < 3 || descr.size() > 4 || descr[2] == '0' || size == 0 ||
      (order != '<' && order != '>' && order != '|' && order != '=')) {
    return Bad(what, absl::StrCat("dtype '", Printable(descr), "'"));
  }
  const DtypeInfo* info = nullptr;
  for (const DtypeInfo& t : kTypes) {
    if (t.kind == kind && t.size == size) info = &t;
  }
  if (info == nullptr) {
    return Bad(what, absl::StrCat("dtype '", Printable(descr), "' (",
                                  kSupported, " are supported)"));
  }
  // Byte order means nothing for one-byte types; NumPy writes '|' for them.
  // For wider types '|' would be a malformed descr and '>' needs swapping.
  if (order == '>' && size > 1) {
    return Bad(what, absl::StrCat("big-endian dtype '", Printable(descr),
                                  "' (save with '<' byte order)"));
  }
  const bool order_ok = order == '<' || order == '=' ||
                        (size == 1 && (order == '|' || order == '>'));
  if (!order_ok)
    return Bad(what, absl::StrCat("dtype '", Printable(descr), "'"));
  absl::StatusOr<int64_t> numel = CheckedNumel(shape);
  if (!numel.ok()) return Bad(what, numel.status().message());
  const size_t payload = bytes.size() - header_start - header_len;
  if (*numel > static_cast<int64_t>(bytes.size()) ||
      static_cast<size_t>(*numel) * info->size != payload) {
    return Bad(what, absl::StrCat("shape ", ShapeToString(shape), " needs ",
                                  *numel, " elements of ", info->size,
                                  " bytes but the file holds ", payload,
                                  " data bytes"));
  }
  ASSIGN_OR_RETURN(Tensor t, Tensor::Empty(info->dtype, shape));
  if (payload > 0) {
    std::memcpy(t.raw_data(), bytes.data() + header_start + header_len, payload);
  }
  if (info->dtype == ScalarType::kBool) {
    // NumPy bools are 0/1 bytes; anything else is not a bool array.
    const uint8_t* b = static_cast<const uint8_t*>(t.raw_data());
    for (int64_t i = 0; i < *numel; ++i) {
      if (b[i] > 1) return Bad(what, "bool array holds a byte other than 0/1");
    }
  }
  return t;
}

absl::StatusOr<std::string> EncodeNpy(const Tensor& tensor) {
  if (!HostIsLittleEndian()) {
    return absl::UnimplementedError(".npy support needs a little-endian host");
  }
  if (!tensor.defined()) {
    return absl::InvalidArgumentError("cannot write an undefined tensor to .npy");
  }
  if (!tensor.is_cpu()) {
    return absl::InvalidArgumentError(".npy output needs a CPU tensor");
  }
  const DtypeInfo* info = nullptr;
  for (const DtypeInfo& t : kTypes) {
    if (t.dtype == tensor.dtype()) info = &t;
  }
  if (info == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("cannot write dtype ", ScalarTypeName(tensor.dtype()),
                     " to .npy (", kSupported, " are supported)"));
  }
  const std::string descr =
      absl::StrCat(info->size == 1 ? "|" : "<",
                   absl::string_view(&info->kind, 1), info->size);
  std::vector<std::string> dims;
  for (int64_t d : tensor.shape()) dims.push_back(absl::StrCat(d));
  std::string shape = absl::StrJoin(dims, ", ");
  if (dims.size() == 1) shape += ",";
  std::string header = absl::StrCat("{'descr': '", descr,
                                    "', 'fortran_order': False, 'shape': (",
                                    shape, "), }");
  // Pad with spaces so data starts on a 64-byte boundary; '\n' ends it.
  const size_t unpadded = kMagicLen + 4 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out(kMagic, kMagicLen);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>((header.size() >> 8) & 0xff));
  out += header;
  out.append(static_cast<const char*>(tensor.raw_data()),
             static_cast<size_t>(tensor.nbytes()));
  return out;
}

absl::StatusOr<Tensor> ReadNpyFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  return ParseNpy(bytes, path);
}

absl::Status WriteNpyFile(const std::string& path, const Tensor& tensor) {
  ASSIGN_OR_RETURN(std::string bytes, EncodeNpy(tensor));
  return WriteFileAtomic(path, bytes);
}

}  // namespace tools
}  // namespace rewire
