#pragma once
// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): two zero bytes,
// a type code, the number of dimensions, each dimension as a big-endian uint32, then the elements
// in row-major order, big-endian. Files may be gzip-compressed; the reader detects that itself.
//
// The reader never trusts a header: the data size is computed with overflow checks and bounded
// before anything is allocated, and the file must hold exactly header + data bytes, so a truncated,
// padded or foreign file is an ember::Error that names the path and the sizes involved.
#include <cstdint>
#include <string>
#include <vector>

#include "ember/tensor.h"

namespace ember::data {

// The IDX element types (the third byte of the magic number).
enum class IdxType : uint8_t {
  UInt8 = 0x08,
  Int8 = 0x09,
  Int16 = 0x0B,
  Int32 = 0x0C,
  Float32 = 0x0D,
  Float64 = 0x0E,
};
// "ubyte", "byte", "short", "int", "float", "double" (the IDX description's names; file names such
// as train-images-idx3-ubyte carry them).
std::string idx_type_name(IdxType type);
size_t idx_element_size(IdxType type);

// The default bound on an IDX file's data section (2 GiB: 40 times Fashion-MNIST's training
// images).
inline constexpr uint64_t kDefaultMaxIdxBytes = uint64_t{1} << 31;
// IDX allows up to 255 dimensions; datasets use 1 (labels) to 4 (e.g. colour images).
inline constexpr int kMaxIdxDims = 4;

// An IDX file as stored: its type, its dimensions and its elements' bytes, converted to the host's
// byte order (so `bytes` can be reinterpreted as an array of the element type).
struct IdxArray {
  IdxType type = IdxType::UInt8;
  Shape dims;
  std::vector<uint8_t> bytes;

  int64_t numel() const;
};

// Reads an IDX file, raw or gzip-compressed. Throws ember::Error when the file cannot be read, is
// not IDX (bad magic, unknown type, 0 or more than kMaxIdxDims dimensions), claims more than
// `max_bytes` of data, or does not hold exactly the header plus the data its dimensions describe.
IdxArray read_idx_array(const std::string& path, uint64_t max_bytes = kDefaultMaxIdxBytes);

// The array as a tensor of the same shape: integer types become Int64, float Float32 and double
// Float64 (ember has no narrower dtypes).
Tensor to_tensor(const IdxArray& array);

// read_idx_array followed by to_tensor.
Tensor read_idx(const std::string& path, uint64_t max_bytes = kDefaultMaxIdxBytes);

}  // namespace ember::data
