#include "ember/dtype.h"

#include <sstream>

namespace ember {

size_t element_size(DType dtype) { return dtype == kFloat32 ? 4 : 8; }

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case kFloat32:
      return "float32";
    case kFloat64:
      return "float64";
    case kInt64:
      return "int64";
  }
  return "?";
}

bool is_floating(DType dtype) { return dtype != kInt64; }

DType promote(DType a, DType b) {
  if (a == kFloat64 || b == kFloat64) return kFloat64;
  if (a == kFloat32 || b == kFloat32) return kFloat32;
  return kInt64;
}

std::ostream& operator<<(std::ostream& out, DType dtype) { return out << dtype_name(dtype); }

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

}  // namespace ember
