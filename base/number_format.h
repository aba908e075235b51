// Round-trip formatting of doubles: the shortest decimal spelling that reads
// back (strtod, absl::SimpleAtod, the text-form parser) as the very same
// double. Graph literals, the train/eval markers and error messages all
// print doubles this way, so a literal written by one and read by another
// never changes, and `0.1` prints as 0.1 rather than 0.10000000000000001.
#ifndef REWIRE_BASE_NUMBER_FORMAT_H_
#define REWIRE_BASE_NUMBER_FORMAT_H_

#include <string>

namespace rewire {

// "0.1", "1e-05", "3", "nan", "inf", "-inf".
std::string ShortestDouble(double d);
void AppendShortestDouble(double d, std::string* out);

}  // namespace rewire

#endif  // REWIRE_BASE_NUMBER_FORMAT_H_
