// safetensors I/O: an 8-byte little-endian header length N, N bytes of JSON header, raw data.
//
// The reader never trusts the file: every length is bounded before anything is allocated, every
// tensor's byte range must match its dtype and shape, and the ranges must tile the data section
// exactly (the rules of the reference Rust reader), so a hostile file can only produce an
// ember::Error. The writer goes through a temporary file renamed into place, so a crash or a full
// disk never leaves a truncated checkpoint where a good one was.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <system_error>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "ember/error.h"
#include "ember/state_dict.h"

namespace ember {
namespace {

// Tensor bytes are copied verbatim; the format is little-endian.
static_assert(std::endian::native == std::endian::little,
              "ember's safetensors I/O assumes a little-endian host");

// ordered_json keeps the header's key order, so the writer emits tensors in insertion order.
using Json = nlohmann::ordered_json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference reader's limit
// A valid header nests three levels (root, entry, shape). The bound keeps a header of "[[[[..."
// from building millions of nested values.
constexpr int kMaxJsonDepth = 8;
constexpr const char* kMetadataKey = "__metadata__";

// ---- small helpers ----

// Names and dtypes in messages come from the file: quote them JSON-style (control bytes escaped)
// and cut them, so a 100 MB name cannot become a 100 MB message.
std::string quote(std::string_view text) {
  constexpr size_t kMaxShown = 64;
  const std::string shown(text.substr(0, kMaxShown));
  std::string out = Json(shown).dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMaxShown) out += "...";
  return out;
}

template <class... Args>
[[noreturn]] void fail(const std::string& source, const Args&... args) {
  throw Error(detail::concat("invalid safetensors ", source, ": ", args...));
}

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// Length of the UTF-8 sequence starting at s[i], or 0 when it is malformed (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  if (lead < 0x80) return 1;
  size_t len = 0;
  uint32_t code = 0, min_code = 0;
  if ((lead & 0xE0) == 0xC0) {
    len = 2, code = lead & 0x1F, min_code = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    len = 3, code = lead & 0x0F, min_code = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    len = 4, code = lead & 0x07, min_code = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto next = static_cast<unsigned char>(s[i + k]);
    if ((next & 0xC0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3F);
  }
  const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  return (code < min_code || code > 0x10FFFF || surrogate) ? 0 : len;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = utf8_sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

const char* safetensors_dtype(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "F32";
    case DType::Float64:
      return "F64";
    case DType::Int64:
      return "I64";
  }
  throw Error("safetensors: unsupported dtype");
}

std::optional<DType> parse_dtype(const std::string& name) {
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    if (name == safetensors_dtype(dtype)) return dtype;
  }
  return std::nullopt;
}

// data_ptr<T> is typed; the I/O only needs the bytes.
void* raw_data(Tensor& t) {
  switch (t.dtype()) {
    case DType::Float32:
      return t.data_ptr<float>();
    case DType::Float64:
      return t.data_ptr<double>();
    case DType::Int64:
      return t.data_ptr<int64_t>();
  }
  throw Error("safetensors: unsupported dtype");
}

uint64_t nbytes(const Tensor& t) {
  return static_cast<uint64_t>(t.numel()) * element_size(t.dtype());
}

// ---- reading: the header ----

struct Entry {
  std::string name;
  DType dtype = kFloat32;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

struct Header {
  std::vector<Entry> entries;  // sorted by data offset
  Metadata metadata;
};

// nlohmann keeps just one of two equal keys, silently. A file naming a tensor (or a field) twice is
// ambiguous, so a parser callback records the keys of every open object and rejects repeats.
Json parse_json(std::string_view text, const std::string& source) {
  std::vector<std::unordered_set<std::string>> open_objects;
  auto on_event = [&](int depth, Json::parse_event_t event, Json& parsed) {
    using Event = Json::parse_event_t;
    if (event == Event::object_start || event == Event::array_start) {
      if (depth >= kMaxJsonDepth) {
        fail(source, "header nests deeper than ", kMaxJsonDepth, " levels");
      }
      if (event == Event::object_start) open_objects.emplace_back();
    } else if (event == Event::object_end) {
      open_objects.pop_back();
    } else if (event == Event::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) fail(source, "duplicate key ", quote(key));
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), on_event);
  } catch (const nlohmann::json::exception& e) {
    // nlohmann's message quotes the last token read, which may be huge: keep its start.
    fail(source, "header is not valid JSON: ", std::string_view(e.what()).substr(0, 200));
  }
}

const Json& field(const Json& entry, const char* key, const std::string& name,
                  const std::string& source) {
  auto it = entry.find(key);
  if (it == entry.end()) fail(source, "tensor ", quote(name), " lacks \"", key, "\"");
  return *it;
}

DType entry_dtype(const Json& value, const std::string& name, const std::string& source) {
  if (!value.is_string()) fail(source, "tensor ", quote(name), ": \"dtype\" must be a string");
  const auto& text = value.get_ref<const std::string&>();
  const auto dtype = parse_dtype(text);
  if (!dtype) {
    fail(source, "unknown dtype ", quote(text), " for tensor ", quote(name),
         "; ember reads F32, F64, I64");
  }
  return *dtype;
}

Shape entry_shape(const Json& value, const std::string& name, const std::string& source) {
  if (!value.is_array()) fail(source, "tensor ", quote(name), ": \"shape\" must be an array");
  Shape shape;
  shape.reserve(value.size());
  for (const Json& dim : value) {
    if (!dim.is_number_integer()) {
      fail(source, "tensor ", quote(name), ": \"shape\" must hold integers, not a ",
           dim.type_name());
    }
    if (dim.is_number_unsigned()) {
      const auto size = dim.get<uint64_t>();
      if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        fail(source, "tensor ", quote(name), ": dimension ", size, " is too large");
      }
      shape.push_back(static_cast<int64_t>(size));
    } else {
      fail(source, "tensor ", quote(name), ": negative dimension ", dim.get<int64_t>(),
           " in shape");
    }
  }
  return shape;
}

std::pair<uint64_t, uint64_t> entry_offsets(const Json& value, const std::string& name,
                                            const std::string& source) {
  const bool ok = value.is_array() && value.size() == 2 && value[0].is_number_unsigned() &&
                  value[1].is_number_unsigned();
  if (!ok) {
    fail(source, "tensor ", quote(name),
         ": \"data_offsets\" must be [begin, end], two non-negative integers");
  }
  return {value[0].get<uint64_t>(), value[1].get<uint64_t>()};
}

// Bytes the tensor needs. The product of the non-zero dims must fit int64 as well: an empty
// tensor of shape [0, 2^40, 2^40] would still overflow the strides computed for it.
uint64_t byte_size(const Entry& e, const std::string& source) {
  int64_t product = 1;
  bool has_zero = false;
  for (int64_t size : e.shape) {
    has_zero = has_zero || size == 0;
    if (size != 0 && __builtin_mul_overflow(product, size, &product)) {
      fail(source, "tensor ", quote(e.name), ": shape ", shape_str(e.shape),
           " overflows the element count");
    }
  }
  uint64_t bytes = 0;
  const uint64_t numel = has_zero ? 0 : static_cast<uint64_t>(product);
  if (__builtin_mul_overflow(numel, element_size(e.dtype), &bytes)) {
    fail(source, "tensor ", quote(e.name), ": shape ", shape_str(e.shape),
         " overflows the byte count");
  }
  return bytes;
}

Entry parse_entry(const std::string& name, const Json& value, const std::string& source) {
  if (!value.is_object()) fail(source, "tensor ", quote(name), ": entry is not a JSON object");
  Entry e;
  e.name = name;
  e.dtype = entry_dtype(field(value, "dtype", name, source), name, source);
  e.shape = entry_shape(field(value, "shape", name, source), name, source);
  std::tie(e.begin, e.end) =
      entry_offsets(field(value, "data_offsets", name, source), name, source);
  if (e.begin > e.end) {
    fail(source, "tensor ", quote(name), ": data_offsets [", e.begin, ", ", e.end,
         "] end before they begin");
  }
  const uint64_t bytes = byte_size(e, source);
  if (bytes != e.end - e.begin) {
    fail(source, "tensor ", quote(name), ": shape ", shape_str(e.shape), " of ",
         safetensors_dtype(e.dtype), " needs ", bytes, " bytes but data_offsets [", e.begin, ", ",
         e.end, "] span ", e.end - e.begin);
  }
  return e;
}

Metadata parse_metadata(const Json& value, const std::string& source) {
  if (!value.is_object()) fail(source, "\"__metadata__\" must be an object of strings");
  Metadata metadata;
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!it.value().is_string()) {
      fail(source, "\"__metadata__\" value for key ", quote(it.key()), " must be a string");
    }
    metadata.emplace(it.key(), it.value().get<std::string>());
  }
  return metadata;
}

// The reference reader's rule: sorted by offset, each tensor starts where the previous one ends,
// the first at 0 and the last at the end of the data, so every data byte belongs to one tensor.
void check_layout(std::vector<Entry>& entries, uint64_t data_size, const std::string& source) {
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  uint64_t expected = 0;
  for (const Entry& e : entries) {
    if (e.begin != expected) {
      fail(source, "tensor ", quote(e.name), " starts at data byte ", e.begin, " where ", expected,
           " was expected (", e.begin > expected ? "a gap before it" : "it overlaps another tensor",
           ")");
    }
    expected = e.end;
  }
  if (expected < data_size) {
    fail(source, "tensors end at data byte ", expected, " but the data section has ", data_size,
         " bytes (trailing bytes)");
  }
  if (expected > data_size) {
    fail(source, "tensors end at data byte ", expected, " but the data section has only ",
         data_size, " bytes (truncated file?)");
  }
}

Header parse_header(std::string_view text, uint64_t data_size, const std::string& source) {
  // nlohmann also rejects bad UTF-8, but only inside strings and with a less direct message.
  if (!is_valid_utf8(text)) fail(source, "header is not valid UTF-8");
  const Json root = parse_json(text, source);
  if (!root.is_object()) fail(source, "header is not a JSON object");
  Header header;
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() == kMetadataKey) {
      header.metadata = parse_metadata(it.value(), source);
    } else {
      header.entries.push_back(parse_entry(it.key(), it.value(), source));
    }
  }
  check_layout(header.entries, data_size, source);
  return header;
}

// ---- reading: the length prefix ----

void check_total_size(uint64_t total, const std::string& source) {
  if (total < 8) {
    fail(source, "only ", total, " bytes, shorter than the 8-byte header length");
  }
}

// Checked before the header is allocated, so a forged length cannot request gigabytes.
uint64_t header_size(const char* prefix, uint64_t total, const std::string& source) {
  uint64_t size = 0;
  std::memcpy(&size, prefix, sizeof size);
  if (size > kMaxHeaderBytes) {
    fail(source, "header length ", size, " exceeds the limit of ", kMaxHeaderBytes, " bytes");
  }
  if (size > total - 8) {
    fail(source, "header length ", size, " exceeds the ", total - 8, " bytes after the length");
  }
  return size;
}

// Allocates each tensor and lets `read(dst, offset, size)` fill it from the data section, then
// hands out the metadata: nothing reaches the caller unless the whole file loaded.
template <class ReadFn>
StateDict fill_tensors(Header& header, Metadata* metadata, ReadFn&& read) {
  StateDict dict;
  for (Entry& e : header.entries) {
    Tensor t = empty(e.shape, e.dtype);
    if (e.end > e.begin) read(raw_data(t), e.begin, e.end - e.begin);
    dict.insert(std::move(e.name), std::move(t));
  }
  if (metadata) *metadata = std::move(header.metadata);
  return dict;
}

// A read-only file descriptor that reads at absolute offsets.
class InputFile {
 public:
  explicit InputFile(const std::string& path) : path_(path) {
    // O_NONBLOCK: opening a FIFO must not hang; it is rejected as not a regular file below.
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) throw Error(detail::concat("cannot open \"", path, "\": ", errno_text(errno)));
  }
  ~InputFile() { ::close(fd_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  uint64_t size() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail_io(errno);
    if (!S_ISREG(st.st_mode)) throw Error(detail::concat("\"", path_, "\" is not a regular file"));
    return static_cast<uint64_t>(st.st_size);
  }

  void read_at(void* dst, uint64_t offset, uint64_t size) const {
    auto* out = static_cast<char*>(dst);
    while (size > 0) {
      const ssize_t n = ::pread(fd_, out, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_io(errno);
      // The size was checked against fstat: a short read means the file shrank meanwhile.
      if (n == 0) throw Error(detail::concat("cannot read \"", path_, "\": file ended early"));
      out += n, offset += static_cast<uint64_t>(n), size -= static_cast<uint64_t>(n);
    }
  }

 private:
  [[noreturn]] void fail_io(int err) const {
    throw Error(detail::concat("cannot read \"", path_, "\": ", errno_text(err)));
  }
  std::string path_;
  int fd_ = -1;
};

// ---- writing ----

// What save and save_to_bytes share: the padded header (with its length prefix) and the tensors,
// each made contiguous so its bytes are in logical (row-major) order.
struct SavePlan {
  std::string prefix_and_header;
  std::vector<Tensor> tensors;
};

void check_savable(const std::string& name, const Tensor& t) {
  EMBER_CHECK(name != kMetadataKey, "save: \"", kMetadataKey,
              "\" is reserved for the file's metadata and cannot name a tensor");
  EMBER_CHECK(is_valid_utf8(name), "save: tensor name ", quote(name), " is not valid UTF-8");
  EMBER_CHECK(t.defined(), "save: tensor ", quote(name), " is undefined");
}

Json metadata_json(const Metadata& metadata) {
  Json object = Json::object();
  for (const auto& [key, value] : metadata) {
    EMBER_CHECK(is_valid_utf8(key) && is_valid_utf8(value), "save: metadata entry ", quote(key),
                " is not valid UTF-8");
    object[key] = value;
  }
  return object;
}

SavePlan plan_save(const StateDict& dict, const Metadata& metadata) {
  Json root = Json::object();
  if (!metadata.empty()) root[kMetadataKey] = metadata_json(metadata);
  SavePlan plan;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : dict) {
    check_savable(name, tensor);
    // detach: writing a checkpoint must not record autograd history.
    Tensor t = tensor.detach().contiguous();
    Json entry = Json::object();
    entry["dtype"] = safetensors_dtype(t.dtype());
    entry["shape"] = t.sizes();
    entry["data_offsets"] = Json::array({offset, offset + nbytes(t)});
    root[name] = std::move(entry);
    offset += nbytes(t);
    plan.tensors.push_back(std::move(t));
  }
  std::string header = root.dump();
  // Spaces (valid JSON whitespace) align the data section to 8 bytes, as the reference writer does.
  header.append((8 - header.size() % 8) % 8, ' ');
  const uint64_t length = header.size();
  plan.prefix_and_header.assign(reinterpret_cast<const char*>(&length), sizeof length);
  plan.prefix_and_header += header;
  return plan;
}

const char* tensor_bytes(Tensor t) { return static_cast<const char*>(raw_data(t)); }

// Writes go to "<path>.tmp.<pid>.<n>" beside the target (a rename is only atomic within one file
// system); commit() fsyncs it and renames it over the target, so readers see the old file or the
// new one, never a truncated mix. Until commit() succeeds the destructor removes the temporary.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path) : path_(path) { create_temporary(); }
  ~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(temp_path_.c_str());
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const char* data, uint64_t size) {
    while (size > 0) {
      const ssize_t n = ::write(fd_, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("cannot write \"" + temp_path_ + "\"", errno);
      data += n, size -= static_cast<uint64_t>(n);
    }
  }

  void commit() {
    if (::fsync(fd_) != 0) fail("cannot fsync \"" + temp_path_ + "\"", errno);
    // close() reports delayed write errors on some file systems (NFS).
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) fail("cannot close \"" + temp_path_ + "\"", errno);
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
      fail("cannot rename \"" + temp_path_ + "\" over it", errno);
    }
    renamed_ = true;
    sync_directory();
  }

 private:
  void create_temporary() {
    static std::atomic<uint64_t> counter{0};
    // O_EXCL with mode 0666 (less the umask) gives the file the permissions of any new file, which
    // mkstemp's 0600 would not.
    for (;;) {
      temp_path_ = detail::concat(path_, ".tmp.", ::getpid(), ".", counter++);
      fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) return;
      // A throwing constructor skips the destructor, so nothing is removed: nothing was created.
      if (errno != EEXIST) fail("cannot create temporary file \"" + temp_path_ + "\"", errno);
    }
  }

  // The rename lives in the directory entry: without this fsync a power cut can undo it.
  void sync_directory() {
    std::string dir = std::filesystem::path(path_).parent_path().string();
    if (dir.empty()) dir = ".";
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail("cannot open directory \"" + dir + "\"", errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    // EINVAL: the file system cannot sync directories; nothing more can be done there.
    if (rc != 0 && err != EINVAL) fail("cannot fsync directory \"" + dir + "\"", err);
  }

  [[noreturn]] void fail(const std::string& step, int err) const {
    throw Error(detail::concat("cannot save \"", path_, "\": ", step, ": ", errno_text(err)));
  }

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool renamed_ = false;
};

}  // namespace

StateDict load_from_bytes(const std::string& bytes, Metadata* metadata) {
  const std::string source = "data";
  check_total_size(bytes.size(), source);
  const uint64_t length = header_size(bytes.data(), bytes.size(), source);
  const std::string_view data = std::string_view(bytes).substr(8 + length);
  Header header = parse_header(std::string_view(bytes).substr(8, length), data.size(), source);
  return fill_tensors(header, metadata, [&](void* dst, uint64_t offset, uint64_t size) {
    std::memcpy(dst, data.data() + offset, size);
  });
}

// Reads the header, then each tensor straight into its storage: the file is never held in memory
// twice.
StateDict load(const std::string& path, Metadata* metadata) {
  const std::string source = detail::concat("file \"", path, "\"");
  const InputFile file(path);
  const uint64_t total = file.size();
  check_total_size(total, source);
  char prefix[8];
  file.read_at(prefix, 0, sizeof prefix);
  const uint64_t length = header_size(prefix, total, source);
  std::string text(length, '\0');
  file.read_at(text.data(), 8, length);
  Header header = parse_header(text, total - 8 - length, source);
  return fill_tensors(header, metadata, [&](void* dst, uint64_t offset, uint64_t size) {
    file.read_at(dst, 8 + length + offset, size);
  });
}

std::string save_to_bytes(const StateDict& dict, const Metadata& metadata) {
  const SavePlan plan = plan_save(dict, metadata);
  std::string out = plan.prefix_and_header;
  for (const Tensor& t : plan.tensors) {
    if (nbytes(t) > 0) out.append(tensor_bytes(t), nbytes(t));
  }
  return out;
}

void save(const StateDict& dict, const std::string& path, const Metadata& metadata) {
  // Every check runs before the file system is touched.
  const SavePlan plan = plan_save(dict, metadata);
  AtomicFile file(path);
  file.write(plan.prefix_and_header.data(), plan.prefix_and_header.size());
  for (const Tensor& t : plan.tensors) {
    if (nbytes(t) > 0) file.write(tensor_bytes(t), nbytes(t));
  }
  file.commit();
}

}  // namespace ember
