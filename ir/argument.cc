#include "ir/argument.h"

#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/number_format.h"
#include "base/printable.h"
#include "ir/graph.h"
#include "ir/status_macros.h"

namespace rewire {

Argument Argument::Ref(Node* n) {
  REWIRE_CHECK(n != nullptr);
  Argument a;
  a.kind_ = Kind::kNode;
  a.u_.node = n;
  return a;
}
Argument Argument::Bool(bool b) {
  Argument a;
  a.kind_ = Kind::kBool;
  a.u_.b = b;
  return a;
}
Argument Argument::Int(int64_t i) {
  Argument a;
  a.kind_ = Kind::kInt;
  a.u_.i = i;
  return a;
}
Argument Argument::Double(double d) {
  Argument a;
  a.kind_ = Kind::kDouble;
  a.u_.d = d;
  return a;
}
Argument Argument::String(std::string s) {
  Argument a;
  a.kind_ = Kind::kString;
  a.u_.s = new std::string(std::move(s));
  return a;
}
Argument Argument::Dtype(ScalarType t) {
  Argument a;
  a.kind_ = Kind::kDtype;
  a.u_.dtype = t;
  return a;
}
Argument Argument::DeviceValue(Device d) {
  Argument a;
  a.kind_ = Kind::kDevice;
  a.u_.device = d;
  return a;
}
Argument Argument::LayoutValue(Layout l) {
  Argument a;
  a.kind_ = Kind::kLayout;
  a.u_.layout = l;
  return a;
}
Argument Argument::MemoryFormatValue(MemoryFormat m) {
  Argument a;
  a.kind_ = Kind::kMemoryFormat;
  a.u_.memory_format = m;
  return a;
}
Argument Argument::List(std::vector<Argument> items) {
  Argument a;
  a.kind_ = Kind::kList;
  a.u_.list = new std::vector<Argument>(std::move(items));
  return a;
}

Argument& Argument::operator=(const Argument& other) {
  if (this != &other) {
    Argument copy(other);
    *this = std::move(copy);
  }
  return *this;
}

void Argument::Reset() {
  if (kind_ == Kind::kString) {
    delete u_.s;
  } else if (kind_ == Kind::kList) {
    // Lists are destroyed by their vector's destructor; nesting depth is
    // bounded by the loaders' nesting limit, so this recursion is bounded too.
    delete u_.list;
  }
  kind_ = Kind::kNone;
  u_.i = 0;
}

void Argument::CopyHeapFrom(const Argument& other) {
  if (kind_ == Kind::kString) {
    u_.s = new std::string(*other.u_.s);
  } else {
    u_.list = new std::vector<Argument>(*other.u_.list);
  }
}

void Argument::NotANode() {
  REWIRE_CHECK(false && "Argument::node() on an argument that is not a node");
  std::abort();
}
bool Argument::as_bool() const {
  REWIRE_CHECK(kind_ == Kind::kBool);
  return u_.b;
}
int64_t Argument::as_int() const {
  REWIRE_CHECK(kind_ == Kind::kInt);
  return u_.i;
}
double Argument::as_double() const {
  REWIRE_CHECK(kind_ == Kind::kDouble);
  return u_.d;
}
const std::string& Argument::as_string() const {
  REWIRE_CHECK(kind_ == Kind::kString);
  return *u_.s;
}
ScalarType Argument::as_dtype() const {
  REWIRE_CHECK(kind_ == Kind::kDtype);
  return u_.dtype;
}
Device Argument::as_device() const {
  REWIRE_CHECK(kind_ == Kind::kDevice);
  return u_.device;
}
Layout Argument::as_layout() const {
  REWIRE_CHECK(kind_ == Kind::kLayout);
  return u_.layout;
}
MemoryFormat Argument::as_memory_format() const {
  REWIRE_CHECK(kind_ == Kind::kMemoryFormat);
  return u_.memory_format;
}
const std::vector<Argument>& Argument::as_list() const {
  REWIRE_CHECK(kind_ == Kind::kList);
  return *u_.list;
}
std::vector<Argument>& Argument::mutable_list() {
  REWIRE_CHECK(kind_ == Kind::kList);
  return *u_.list;
}

namespace {

bool ScalarEqual(const Argument& a, const Argument& b) {
  switch (a.kind()) {
    case Argument::Kind::kNone:
      return true;
    case Argument::Kind::kNode:
      return a.node() == b.node();
    case Argument::Kind::kBool:
      return a.as_bool() == b.as_bool();
    case Argument::Kind::kInt:
      return a.as_int() == b.as_int();
    case Argument::Kind::kDouble:
      // NaN literals compare equal to themselves so that a graph equals its
      // own copy; the bit pattern sign of zero is kept distinct.
      return (std::isnan(a.as_double()) && std::isnan(b.as_double())) ||
             (a.as_double() == b.as_double() &&
              std::signbit(a.as_double()) == std::signbit(b.as_double()));
    case Argument::Kind::kString:
      return a.as_string() == b.as_string();
    case Argument::Kind::kDtype:
      return a.as_dtype() == b.as_dtype();
    case Argument::Kind::kDevice:
      return a.as_device() == b.as_device();
    case Argument::Kind::kLayout:
      return a.as_layout() == b.as_layout();
    case Argument::Kind::kMemoryFormat:
      return a.as_memory_format() == b.as_memory_format();
    case Argument::Kind::kList:
      break;
  }
  return false;
}

}  // namespace

bool operator==(const Argument& a, const Argument& b) {
  if (a.kind() != b.kind()) return false;
  if (!a.is_list()) return ScalarEqual(a, b);
  // Iterative pairwise walk over both trees.
  std::vector<std::pair<const Argument*, const Argument*>> stack = {{&a, &b}};
  while (!stack.empty()) {
    auto [x, y] = stack.back();
    stack.pop_back();
    if (x->kind() != y->kind()) return false;
    if (!x->is_list()) {
      if (!ScalarEqual(*x, *y)) return false;
      continue;
    }
    const auto& lx = x->as_list();
    const auto& ly = y->as_list();
    if (lx.size() != ly.size()) return false;
    for (size_t i = 0; i < lx.size(); ++i) stack.emplace_back(&lx[i], &ly[i]);
  }
  return true;
}

int Argument::NestingDepth() const {
  if (!is_list()) return 0;
  int best = 0;
  std::vector<std::pair<const Argument*, int>> stack = {{this, 1}};
  while (!stack.empty()) {
    auto [arg, depth] = stack.back();
    stack.pop_back();
    if (depth > best) best = depth;
    for (const Argument& item : arg->as_list()) {
      if (item.is_list()) stack.emplace_back(&item, depth + 1);
    }
  }
  return best;
}

absl::string_view Argument::KindName(Kind k) {
  switch (k) {
    case Kind::kNone:
      return "None";
    case Kind::kNode:
      return "node";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kDouble:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kDtype:
      return "dtype";
    case Kind::kDevice:
      return "device";
    case Kind::kLayout:
      return "layout";
    case Kind::kMemoryFormat:
      return "memory_format";
    case Kind::kList:
      return "list";
  }
  return "?";
}

std::string Argument::DebugString() const {
  switch (kind_) {
    case Kind::kNone:
      return "None";
    case Kind::kNode:
      return absl::StrCat("%", Printable(u_.node->name()));
    case Kind::kBool:
      return u_.b ? "True" : "False";
    case Kind::kInt:
      return absl::StrCat(u_.i);
    case Kind::kDouble:
      return ShortestDouble(u_.d);
    case Kind::kString:
      return absl::StrCat("\"", Printable(*u_.s), "\"");
    case Kind::kDtype:
      return std::string(ScalarTypeName(u_.dtype));
    case Kind::kDevice:
      return u_.device.ToString();
    case Kind::kLayout:
      return std::string(LayoutName(u_.layout));
    case Kind::kMemoryFormat:
      return std::string(MemoryFormatName(u_.memory_format));
    case Kind::kList: {
      std::string out = "[";
      for (size_t i = 0; i < u_.list->size(); ++i) {
        if (i) out += ", ";
        const Argument& item = (*u_.list)[i];
        out += item.is_list() ? "[...]" : item.DebugString();
      }
      return out + "]";
    }
  }
  return "?";
}

}  // namespace rewire
