#pragma once
// Element types and memory formats.
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace ember {

enum class DType { Float32, Float64, Int64 };
inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kInt64 = DType::Int64;

// ChannelsLast: PyTorch's channels_last: NCHW sizes with NHWC strides (4-D tensors only).
enum class MemoryFormat { Contiguous, ChannelsLast };

using Shape = std::vector<int64_t>;

size_t element_size(DType dtype);
std::string dtype_name(DType dtype);  // "float32", "float64", "int64"
bool is_floating(DType dtype);
// The dtype of a binary op's result: the wider of the two (Int64 < Float32 < Float64).
DType promote(DType a, DType b);
std::ostream& operator<<(std::ostream& out, DType dtype);

// "[2, 3]" — the shape format used in every error message.
std::string shape_str(const Shape& shape);

template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = kFloat32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = kFloat64;
};
template <>
struct dtype_of<int64_t> {
  static constexpr DType value = kInt64;
};

}  // namespace ember
