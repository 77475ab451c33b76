// The IDX reader. Each size is checked before anything depends on it: the magic, the number of
// dimensions, the data size (overflow, then the caller's bound), then the file's length (from the
// file system for raw files, before allocating, or while decompressing for gzip files, whose buffer
// grows only as data actually arrives).
#include "ember/data/idx.h"

#include <bit>
#include <cstring>
#include <limits>

#include "data/input_file.h"
#include "ember/error.h"

namespace ember::data {
namespace {

using internal::InputFile;

constexpr const char* kCaller = "read_idx";
// A gzip file's buffer starts at this size and doubles, so a small file claiming huge dimensions
// costs at most twice what it really holds before it is found out.
constexpr uint64_t kFirstChunkBytes = uint64_t{1} << 20;
// How much of a gzip file's trailing data is decompressed to count it for the message.
constexpr size_t kTrailingProbeBytes = size_t{1} << 16;

bool is_known_type(uint8_t code) {
  switch (static_cast<IdxType>(code)) {
    case IdxType::UInt8:
    case IdxType::Int8:
    case IdxType::Int16:
    case IdxType::Int32:
    case IdxType::Float32:
    case IdxType::Float64:
      return true;
  }
  return false;
}

std::string hex(uint8_t byte) {
  constexpr const char* kDigits = "0123456789ABCDEF";
  return std::string("0x") + kDigits[byte >> 4] + kDigits[byte & 15];
}

uint32_t load_big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// IDX stores elements big-endian; swap them in place to the host's order.
// Appended to size messages when zlib found the gzip stream cut short: the file itself is damaged,
// not just written with the wrong sizes.
const char* cut_note(const InputFile& file) {
  return file.truncated() ? " (its gzip stream is cut short)" : "";
}

template <class U>
void swap_elements(uint8_t* bytes, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    U v;
    std::memcpy(&v, bytes + i * sizeof(U), sizeof(U));
    if constexpr (sizeof(U) == 2) v = __builtin_bswap16(v);
    if constexpr (sizeof(U) == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof(U) == 8) v = __builtin_bswap64(v);
    std::memcpy(bytes + i * sizeof(U), &v, sizeof(U));
  }
}

void to_host_order(IdxArray& array) {
  if constexpr (std::endian::native == std::endian::big) return;
  const size_t size = idx_element_size(array.type);
  const size_t count = array.bytes.size() / size;
  if (size == 2) swap_elements<uint16_t>(array.bytes.data(), count);
  if (size == 4) swap_elements<uint32_t>(array.bytes.data(), count);
  if (size == 8) swap_elements<uint64_t>(array.bytes.data(), count);
}

// Reads the 4-byte magic and the dimensions; returns the header's length.
uint64_t read_header(InputFile& file, IdxArray& array) {
  const std::string& path = file.path();
  uint8_t magic[4];
  const size_t got = file.read(magic, 4);
  EMBER_CHECK(got == 4, kCaller, ": '", path, "' is not an IDX file: it holds only ", got,
              " bytes, fewer than the 4-byte magic number", cut_note(file));
  EMBER_CHECK(magic[0] == 0 && magic[1] == 0, kCaller, ": '", path,
              "' is not an IDX file: its magic number starts with ", hex(magic[0]), " ",
              hex(magic[1]), ", expected 0x00 0x00");
  EMBER_CHECK(is_known_type(magic[2]), kCaller, ": '", path, "' has unknown IDX type code ",
              hex(magic[2]),
              " (expected 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float or 0x0E double)");
  const int ndims = magic[3];
  EMBER_CHECK(ndims >= 1 && ndims <= kMaxIdxDims, kCaller, ": '", path, "' has ", ndims,
              " dimensions; expected 1 to ", kMaxIdxDims);
  array.type = static_cast<IdxType>(magic[2]);

  const uint64_t header_bytes = 4 + 4 * static_cast<uint64_t>(ndims);
  uint8_t dims[4 * kMaxIdxDims];
  const size_t dims_got = file.read(dims, 4 * ndims);
  EMBER_CHECK(dims_got == 4 * static_cast<size_t>(ndims), kCaller, ": '", path,
              "' is truncated in its header: ", ndims, " dimensions need a ", header_bytes,
              "-byte header, the file has ", 4 + dims_got, " bytes", cut_note(file));
  array.dims.resize(ndims);
  for (int d = 0; d < ndims; ++d) array.dims[d] = load_big_endian_u32(dims + 4 * d);
  return header_bytes;
}

// The data's size in bytes: checked for overflow (four uint32 dimensions reach 2^128), then
// against the caller's bound. Every partial product must fit in int64_t, so no size computed from
// the dims later (numel, a tensor's shape) can overflow, even when a zero dim comes last.
uint64_t data_size(const std::string& path, const IdxArray& array, uint64_t max_bytes) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t bytes = idx_element_size(array.type);
  bool overflow = false;
  for (int64_t dim : array.dims) {
    overflow |= __builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes) || bytes > kMax;
  }
  EMBER_CHECK(!overflow, kCaller, ": '", path, "' claims ", idx_type_name(array.type), " dims ",
              shape_str(array.dims), ", more than 2^63 bytes of data (a corrupt header)");
  EMBER_CHECK(bytes <= max_bytes, kCaller, ": '", path, "' claims ", idx_type_name(array.type),
              " dims ", shape_str(array.dims), ", ", bytes,
              " bytes of data, more than the limit of ", max_bytes,
              " bytes (pass a larger max_bytes to read it)");
  return bytes;
}

// "ubyte [2, 3, 4] needs 16 + 24 = 40 bytes": the expected size, for messages.
std::string needs(const IdxArray& array, uint64_t header_bytes, uint64_t data_bytes) {
  return detail::concat(idx_type_name(array.type), " dims ", shape_str(array.dims), " need ",
                        header_bytes, " + ", data_bytes, " = ", header_bytes + data_bytes,
                        " bytes");
}

// Reads exactly data_bytes, then checks that nothing follows.
void read_data(InputFile& file, IdxArray& array, uint64_t header_bytes, uint64_t data_bytes) {
  const std::string& path = file.path();
  const uint64_t expected = header_bytes + data_bytes;
  const char* unit = file.compressed() ? " bytes uncompressed" : " bytes";

  // An uncompressed regular file's length is known: check it before allocating anything.
  const bool known_size = !file.compressed() && file.file_size().has_value();
  if (known_size) {
    const uint64_t actual = *file.file_size();
    EMBER_CHECK(actual >= expected, kCaller, ": '", path,
                "' is truncated: ", needs(array, header_bytes, data_bytes), ", the file has ",
                actual, unit);
    EMBER_CHECK(actual <= expected, kCaller, ": '", path,
                "' has trailing bytes: ", needs(array, header_bytes, data_bytes), ", the file has ",
                actual, unit);
  }

  uint64_t have = 0;
  while (have < data_bytes) {
    if (array.bytes.size() == have) {
      const uint64_t grown = known_size ? data_bytes : std::max(kFirstChunkBytes, 2 * have);
      array.bytes.resize(std::min(data_bytes, grown));
    }
    const size_t got = file.read(array.bytes.data() + have, array.bytes.size() - have);
    have += got;
    if (got == 0 || file.truncated()) break;
  }
  if (have < data_bytes) {
    throw Error(detail::concat(kCaller, ": '", path,
                               "' is truncated: ", needs(array, header_bytes, data_bytes),
                               ", the file has ", header_bytes + have, unit, cut_note(file)));
  }

  // Reading past the data also makes zlib verify the gzip trailer (CRC and length).
  std::vector<uint8_t> probe(known_size ? 1 : kTrailingProbeBytes);
  const size_t extra = file.read(probe.data(), probe.size());
  EMBER_CHECK(!file.truncated(), kCaller, ": '", path,
              "' is a truncated gzip file: its stream ends before the gzip trailer, after ",
              expected, unit);
  if (extra > 0) {
    const std::string actual = extra < probe.size()
                                   ? std::to_string(expected + extra)
                                   : "more than " + std::to_string(expected + extra);
    throw Error(detail::concat(kCaller, ": '", path,
                               "' has trailing bytes: ", needs(array, header_bytes, data_bytes),
                               ", the file has ", actual, unit));
  }
}

template <class Src, class Dst>
void convert(const IdxArray& array, Dst* out) {
  const uint8_t* in = array.bytes.data();
  const int64_t n = array.numel();
  for (int64_t i = 0; i < n; ++i) {
    Src v;
    std::memcpy(&v, in + i * sizeof(Src), sizeof(Src));
    out[i] = static_cast<Dst>(v);
  }
}

}  // namespace

std::string idx_type_name(IdxType type) {
  switch (type) {
    case IdxType::UInt8:
      return "ubyte";
    case IdxType::Int8:
      return "byte";
    case IdxType::Int16:
      return "short";
    case IdxType::Int32:
      return "int";
    case IdxType::Float32:
      return "float";
    case IdxType::Float64:
      return "double";
  }
  return "unknown";
}

size_t idx_element_size(IdxType type) {
  switch (type) {
    case IdxType::UInt8:
    case IdxType::Int8:
      return 1;
    case IdxType::Int16:
      return 2;
    case IdxType::Int32:
    case IdxType::Float32:
      return 4;
    case IdxType::Float64:
      return 8;
  }
  return 1;
}

int64_t IdxArray::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

IdxArray read_idx_array(const std::string& path, uint64_t max_bytes) {
  InputFile file(path, kCaller);
  IdxArray array;
  const uint64_t header_bytes = read_header(file, array);
  const uint64_t data_bytes = data_size(path, array, max_bytes);
  read_data(file, array, header_bytes, data_bytes);
  to_host_order(array);
  return array;
}

Tensor to_tensor(const IdxArray& array) {
  EMBER_CHECK(
      array.bytes.size() == static_cast<uint64_t>(array.numel()) * idx_element_size(array.type),
      "to_tensor: an IdxArray of ", idx_type_name(array.type), " dims ", shape_str(array.dims),
      " needs ", array.numel() * idx_element_size(array.type), " bytes, it holds ",
      array.bytes.size());
  switch (array.type) {
    case IdxType::Float32: {
      Tensor t = empty(array.dims, kFloat32);
      convert<float>(array, t.data_ptr<float>());
      return t;
    }
    case IdxType::Float64: {
      Tensor t = empty(array.dims, kFloat64);
      convert<double>(array, t.data_ptr<double>());
      return t;
    }
    default:
      break;
  }
  Tensor t = empty(array.dims, kInt64);
  int64_t* out = t.data_ptr<int64_t>();
  switch (array.type) {
    case IdxType::UInt8:
      convert<uint8_t>(array, out);
      break;
    case IdxType::Int8:
      convert<int8_t>(array, out);
      break;
    case IdxType::Int16:
      convert<int16_t>(array, out);
      break;
    default:
      convert<int32_t>(array, out);
      break;
  }
  return t;
}

Tensor read_idx(const std::string& path, uint64_t max_bytes) {
  return to_tensor(read_idx_array(path, max_bytes));
}

}  // namespace ember::data
