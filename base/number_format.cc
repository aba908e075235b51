#include "base/number_format.h"

#include <charconv>
#include <cmath>
#include <system_error>

namespace rewire {

void AppendShortestDouble(double d, std::string* out) {
  // std::to_chars spells NaN "nan" or "-nan" depending on the sign bit;
  // one spelling, as the parsers read it.
  if (std::isnan(d)) {
    out->append("nan");
    return;
  }
  char buf[64];  // the longest shortest form is 24 characters
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), d);
  if (r.ec != std::errc()) {
    out->append("nan");  // unreachable with this buffer
    return;
  }
  out->append(buf, r.ptr);
}

std::string ShortestDouble(double d) {
  std::string out;
  AppendShortestDouble(d, &out);
  return out;
}

}  // namespace rewire
