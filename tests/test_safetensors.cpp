// StateDict and safetensors I/O: round trips, the exact byte layout, atomic saves, a corpus of
// malformed files, and interop with files written by PyTorch / read by numpy.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "ember/state_dict.h"
#include "ember/tensor.h"

namespace ember {
namespace {

namespace fs = std::filesystem;

// ---- helpers ----

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Builds a tensor from exact values (bit patterns such as -0.0 and NaN survive untouched).
template <class T>
Tensor make(const std::vector<T>& values, Shape shape) {
  Tensor t = empty(std::move(shape), dtype_of<T>::value);
  std::copy(values.begin(), values.end(), t.data_ptr<T>());
  return t;
}

template <class T>
std::string raw_bytes_as(const Tensor& t) {
  const std::vector<T> v = t.to_vector<T>();
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

std::string raw_bytes(const Tensor& t) {
  switch (t.dtype()) {
    case kFloat32:
      return raw_bytes_as<float>(t);
    case kFloat64:
      return raw_bytes_as<double>(t);
    case kInt64:
      return raw_bytes_as<int64_t>(t);
  }
  return {};
}

// Same dtype, shape and bit pattern of every element in logical order.
::testing::AssertionResult SameTensor(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype()) {
    return ::testing::AssertionFailure() << "dtype " << a.dtype() << " vs " << b.dtype();
  }
  if (a.sizes() != b.sizes()) {
    return ::testing::AssertionFailure()
           << "shape " << shape_str(a.sizes()) << " vs " << shape_str(b.sizes());
  }
  if (raw_bytes(a) != raw_bytes(b)) return ::testing::AssertionFailure() << "values differ";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult SameDict(const StateDict& a, const StateDict& b) {
  if (a.keys() != b.keys()) return ::testing::AssertionFailure() << "keys differ";
  for (const auto& [name, t] : a) {
    auto same = SameTensor(t, b.at(name));
    if (!same) return same << " for tensor \"" << name << "\"";
  }
  return ::testing::AssertionSuccess();
}

// The JSON header of a serialized file (with its padding).
std::string header_of(const std::string& bytes) {
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  return bytes.substr(8, n);
}

// Runs a shell command; returns its exit code and fills `output` with stdout + stderr.
int run(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output->append(buffer, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Each test works in its own directory (ctest runs tests in parallel processes).
class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("ember_safetensors_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::set<std::string> files_in_dir() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.insert(e.path().filename().string());
    return names;
  }

  StateDict save_and_load(const StateDict& dict, const Metadata& metadata = {},
                          Metadata* loaded = nullptr) {
    const std::string path = (dir_ / "dict.safetensors").string();
    save(dict, path, metadata);
    // The in-memory and the file paths share the format but not the reading code.
    EXPECT_EQ(read_bytes(path), save_to_bytes(dict, metadata));
    EXPECT_TRUE(SameDict(load_from_bytes(read_bytes(path)), dict));
    return load(path, loaded);
  }

  fs::path dir_;
};

// ---- StateDict ----

TEST(StateDictTest, KeepsInsertionOrderAndLooksUpByName) {
  StateDict dict;
  EXPECT_TRUE(dict.empty());
  dict.insert("z", zeros({1}));
  dict.insert("a", ones({2}));
  dict.insert("m", zeros({3}));
  EXPECT_EQ(dict.size(), 3u);
  EXPECT_EQ(dict.keys(), (std::vector<std::string>{"z", "a", "m"}));
  EXPECT_TRUE(dict.contains("a"));
  EXPECT_FALSE(dict.contains("b"));
  EXPECT_EQ(dict.at("a").sizes(), (Shape{2}));
  std::vector<std::string> iterated;
  for (const auto& [name, t] : dict) iterated.push_back(name);
  EXPECT_EQ(iterated, dict.keys());
}

TEST(StateDictTest, DuplicateInsertThrowsNamingTheKeyAndKeepsTheFirst) {
  StateDict dict;
  dict.insert("weight", ones({2}));
  try {
    dict.insert("weight", zeros({5}));
    FAIL() << "expected ember::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"weight\" already defined"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(dict.size(), 1u);
  EXPECT_EQ(dict.at("weight").sizes(), (Shape{2}));
}

TEST(StateDictTest, AtMissingKeyNamesOnlyThatKey) {
  StateDict dict;
  dict.insert("alpha", ones({1}));
  dict.insert("beta", ones({1}));
  try {
    dict.at("gamma");
    FAIL() << "expected ember::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("\"gamma\" is not defined"), std::string::npos) << message;
    EXPECT_EQ(message.find("alpha"), std::string::npos) << message;
    EXPECT_EQ(message.find("beta"), std::string::npos) << message;
  }
}

// ---- round trips ----

TEST_F(SafetensorsTest, RoundTripsFloat32BitExactly) {
  const float inf = std::numeric_limits<float>::infinity();
  StateDict dict;
  dict.insert("w", make<float>({1.5f, -0.0f, inf, -inf, std::nanf(""), 1e-45f,
                                std::numeric_limits<float>::max(), -3.25f},
                               {2, 4}));
  EXPECT_TRUE(SameDict(save_and_load(dict), dict));
}

TEST_F(SafetensorsTest, RoundTripsFloat64BitExactly) {
  StateDict dict;
  dict.insert("d", make<double>({0.1, -0.0, std::nan(""), 5e-324, -1.7976931348623157e308, 2.0},
                                {3, 1, 2}));
  EXPECT_TRUE(SameDict(save_and_load(dict), dict));
}

TEST_F(SafetensorsTest, RoundTripsInt64Exactly) {
  StateDict dict;
  dict.insert("i", make<int64_t>({std::numeric_limits<int64_t>::min(), -1, 0,
                                  (int64_t{1} << 62) + 1, std::numeric_limits<int64_t>::max()},
                                 {5}));
  EXPECT_TRUE(SameDict(save_and_load(dict), dict));
}

TEST_F(SafetensorsTest, RoundTripsRank0Tensors) {
  StateDict dict;
  dict.insert("num_batches_tracked", make<int64_t>({7}, {}));
  dict.insert("f", make<float>({2.5f}, {}));
  dict.insert("d", make<double>({-1.0}, {}));
  const StateDict loaded = save_and_load(dict);
  EXPECT_TRUE(SameDict(loaded, dict));
  EXPECT_EQ(loaded.at("num_batches_tracked").dim(), 0);
  EXPECT_NE(header_of(save_to_bytes(dict)).find("\"shape\":[]"), std::string::npos);
}

TEST_F(SafetensorsTest, RoundTripsEmptyTensors) {
  StateDict dict;
  dict.insert("before", make<float>({1.0f}, {1}));
  dict.insert("empty", empty({0}, kFloat32));
  dict.insert("empty3d", empty({2, 0, 3}, kInt64));
  dict.insert("after", make<double>({2.0}, {1}));
  const StateDict loaded = save_and_load(dict);
  EXPECT_TRUE(SameDict(loaded, dict));
  EXPECT_EQ(loaded.at("empty3d").sizes(), (Shape{2, 0, 3}));
  // An empty tensor takes an empty byte range where the previous tensor ends.
  EXPECT_NE(header_of(save_to_bytes(dict)).find("\"data_offsets\":[4,4]"), std::string::npos);
}

TEST_F(SafetensorsTest, WritesNonContiguousTensorsInLogicalOrder) {
  const Tensor base = make<float>({0, 1, 2, 3, 4, 5}, {2, 3});
  StateDict dict;
  dict.insert("transposed", base.transpose(0, 1));  // [[0, 3], [1, 4], [2, 5]]
  dict.insert("row", base.select(0, 1));            // a view at a storage offset: [3, 4, 5]
  ASSERT_FALSE(dict.at("transposed").is_contiguous());
  const StateDict loaded = save_and_load(dict);
  EXPECT_EQ(loaded.at("transposed").sizes(), (Shape{3, 2}));
  EXPECT_EQ(loaded.at("transposed").to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(loaded.at("row").to_vector<float>(), (std::vector<float>{3, 4, 5}));
  EXPECT_TRUE(loaded.at("transposed").is_contiguous());
  // The data section itself holds the logical order.
  const std::string bytes = save_to_bytes(dict);
  const std::string data = bytes.substr(8 + header_of(bytes).size());
  EXPECT_EQ(data, raw_bytes(make<float>({0, 3, 1, 4, 2, 5, 3, 4, 5}, {9})));
}

TEST_F(SafetensorsTest, RoundTripsMetadata) {
  StateDict dict;
  dict.insert("w", ones({2}));
  const Metadata metadata = {{"format", "pt"}, {"note", "gr\xc3\xbc\xc3\x9f \"quoted\""}};
  Metadata loaded;
  save_and_load(dict, metadata, &loaded);
  EXPECT_EQ(loaded, metadata);
  // No metadata: no "__metadata__" entry, and a stale map is cleared.
  EXPECT_EQ(header_of(save_to_bytes(dict)).find("__metadata__"), std::string::npos);
  load_from_bytes(save_to_bytes(dict), &loaded);
  EXPECT_TRUE(loaded.empty());
}

TEST_F(SafetensorsTest, KeepsInsertionOrderInHeaderAndOnLoad) {
  StateDict dict;
  for (const char* name : {"z.weight", "a.bias", "m.running_var", "b"}) {
    dict.insert(name, ones({2}));
  }
  const StateDict loaded = save_and_load(dict);
  EXPECT_EQ(loaded.keys(), dict.keys());
  const std::string header = header_of(save_to_bytes(dict));
  size_t previous = 0;
  for (const std::string& name : dict.keys()) {
    const size_t at = header.find("\"" + name + "\"");
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_GT(at, previous) << name << " is out of order in " << header;
    previous = at;
  }
}

// The whole layout, byte by byte: u64 LE length, compact JSON padded with spaces to a multiple
// of 8, then the raw little-endian data.
TEST_F(SafetensorsTest, WritesTheExactLayout) {
  StateDict dict;
  dict.insert("a", make<float>({1.0f, 2.0f}, {2}));
  dict.insert("n", make<int64_t>({3}, {}));
  std::string json = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("n":{"dtype":"I64","shape":[],"data_offsets":[8,16]}})";
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string expected(8, '\0');
  for (size_t i = 0; i < 8; ++i) expected[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  expected += json;
  expected += std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8);  // 1.0f, 2.0f
  expected += std::string("\x03\x00\x00\x00\x00\x00\x00\x00", 8);  // int64 3
  EXPECT_EQ(save_to_bytes(dict), expected);
  EXPECT_EQ(json.size() % 8, 0u);
}

TEST_F(SafetensorsTest, SaveRejectsUnsavableDictsBeforeTouchingTheFile) {
  const fs::path path = dir_ / "m.safetensors";
  write_bytes(path, "previous contents");
  auto expect_rejected = [&](const StateDict& dict, const Metadata& metadata, const char* part) {
    try {
      save(dict, path.string(), metadata);
      ADD_FAILURE() << "expected ember::Error containing " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_bytes(path), "previous contents");
    EXPECT_EQ(files_in_dir(), std::set<std::string>{"m.safetensors"});
  };
  StateDict undefined;
  undefined.insert("w", Tensor());
  expect_rejected(undefined, {}, "tensor \"w\" is undefined");
  StateDict reserved;
  reserved.insert("__metadata__", ones({1}));
  expect_rejected(reserved, {}, "\"__metadata__\" is reserved");
  StateDict bad_name;
  bad_name.insert("w\xff", ones({1}));
  expect_rejected(bad_name, {}, "is not valid UTF-8");
  StateDict fine;
  fine.insert("w", ones({1}));
  expect_rejected(fine, {{"k", "\xc0\xaf"}}, "metadata entry \"k\" is not valid UTF-8");
}

// ---- atomic writes ----

TEST_F(SafetensorsTest, SaveIntoMissingDirectoryThrowsAndLeavesNothing) {
  const fs::path path = dir_ / "missing" / "m.safetensors";
  StateDict dict;
  dict.insert("w", ones({2}));
  try {
    save(dict, path.string());
    FAIL() << "expected ember::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
  EXPECT_TRUE(files_in_dir().empty());
}

TEST_F(SafetensorsTest, SaveReplacesAnExistingFileWhole) {
  const fs::path path = dir_ / "m.safetensors";
  StateDict big;
  big.insert("w", arange(1000, kFloat32));
  save(big, path.string());
  StateDict small;
  small.insert("v", make<double>({1.0}, {1}));
  save(small, path.string());
  EXPECT_EQ(read_bytes(path), save_to_bytes(small));  // no tail of the bigger file survives
  EXPECT_TRUE(SameDict(load(path.string()), small));
  EXPECT_EQ(files_in_dir(), std::set<std::string>{"m.safetensors"});  // no temporary left
}

TEST_F(SafetensorsTest, FailedRenameRemovesTheTemporaryAndKeepsTheTarget) {
  // A directory in the target's place makes the final rename fail after the data was written.
  const fs::path path = dir_ / "m.safetensors";
  fs::create_directory(path);
  write_bytes(path / "inside", "x");
  StateDict dict;
  dict.insert("w", ones({4}));
  try {
    save(dict, path.string());
    FAIL() << "expected ember::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("cannot save \"" + path.string() + "\""), std::string::npos) << message;
    EXPECT_NE(message.find("rename"), std::string::npos) << message;
  }
  EXPECT_EQ(files_in_dir(), std::set<std::string>{"m.safetensors"});
  EXPECT_EQ(read_bytes(path / "inside"), "x");
}

TEST_F(SafetensorsTest, LoadNamesThePathOfAMissingOrUnreadableFile) {
  const std::string missing = (dir_ / "nope.safetensors").string();
  try {
    load(missing);
    FAIL() << "expected ember::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(missing), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
  EXPECT_THROW(load(dir_.string()), Error);  // a directory is not a file
  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(load(fifo.string()), Error);  // and opening a FIFO must not block
}

TEST_F(SafetensorsTest, SavesToAPathWithoutDirectory) {
  // The most common call, save(dict, "model.safetensors"), syncs the current directory.
  struct RestoreCwd {
    fs::path previous = fs::current_path();
    ~RestoreCwd() { fs::current_path(previous); }
  } restore;
  fs::current_path(dir_);
  StateDict dict;
  dict.insert("w", ones({3}));
  save(dict, "model.safetensors");
  EXPECT_TRUE(SameDict(load("model.safetensors"), dict));
  EXPECT_EQ(files_in_dir(), std::set<std::string>{"model.safetensors"});
}

// ---- corpora ----

TEST_F(SafetensorsTest, LoadedOrderFollowsDataOffsetsNotHeaderOrder) {
  const std::string path =
      std::string(EMBER_TEST_DATA_DIR) + "/safetensors_valid/out_of_order.safetensors";
  Metadata metadata;
  const StateDict dict = load(path, &metadata);
  EXPECT_EQ(dict.keys(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(dict.at("a").to_vector<int64_t>(), (std::vector<int64_t>{7}));
  EXPECT_EQ(dict.at("b").to_vector<double>(), (std::vector<double>{0.25}));
  EXPECT_EQ(metadata, (Metadata{{"format", "pt"}}));
}

TEST_F(SafetensorsTest, ValidCorpusLoads) {
  const std::map<std::string, std::vector<std::string>> expected_keys = {
      {"one_f32", {"w"}}, {"rank0_i64", {"n"}},         {"empty_tensor", {"e"}},
      {"no_tensors", {}}, {"out_of_order", {"a", "b"}}, {"padded_header", {"w"}},
  };
  const fs::path dir = fs::path(EMBER_TEST_DATA_DIR) / "safetensors_valid";
  std::set<std::string> seen;
  for (const auto& file : fs::directory_iterator(dir)) {
    if (file.path().extension() != ".safetensors") continue;
    const std::string stem = file.path().stem().string();
    SCOPED_TRACE(stem);
    seen.insert(stem);
    ASSERT_TRUE(expected_keys.count(stem)) << "add " << stem << " to the table";
    EXPECT_EQ(load(file.path().string()).keys(), expected_keys.at(stem));
  }
  EXPECT_EQ(seen.size(), expected_keys.size());
  EXPECT_EQ(load(dir / "one_f32.safetensors").at("w").to_vector<float>(),
            (std::vector<float>{1.5f, -2.0f}));
}

// Every file under tests/data/safetensors_malformed (made by
// tests/golden/make_malformed_safetensors.py) and the part of the message it must produce.
const std::map<std::string, std::string>& malformed_table() {
  static const std::map<std::string, std::string> table = {
      {"empty", "only 0 bytes, shorter than the 8-byte header length"},
      {"truncated_length", "only 3 bytes, shorter than the 8-byte header length"},
      {"huge_header_length", "header length 18446744073709551615 exceeds the limit"},
      {"header_length_past_end", "header length 1000 exceeds the"},
      {"empty_header", "header is not valid JSON"},
      {"bad_json", "header is not valid JSON"},
      {"trailing_garbage_json", "header is not valid JSON"},
      {"invalid_utf8", "header is not valid UTF-8"},
      {"overlong_utf8", "header is not valid UTF-8"},
      {"surrogate_utf8", "header is not valid UTF-8"},
      {"header_not_object", "header is not a JSON object"},
      {"header_is_string", "header is not a JSON object"},
      {"too_deep", "header nests deeper than 8 levels"},
      {"entry_not_object", "tensor \"w\": entry is not a JSON object"},
      {"missing_dtype", "tensor \"w\" lacks \"dtype\""},
      {"missing_shape", "tensor \"w\" lacks \"shape\""},
      {"missing_offsets", "tensor \"w\" lacks \"data_offsets\""},
      {"dtype_not_string", "tensor \"w\": \"dtype\" must be a string"},
      {"unknown_dtype", "unknown dtype \"F16\" for tensor \"w\"; ember reads F32, F64, I64"},
      {"shape_not_array", "tensor \"w\": \"shape\" must be an array"},
      {"shape_float", "\"shape\" must hold integers, not a number"},
      {"shape_string", "\"shape\" must hold integers, not a string"},
      {"negative_dim", "tensor \"w\": negative dimension -2 in shape"},
      {"dim_too_large", "dimension 9223372036854775808 is too large"},
      {"overflow_shape", "overflows the element count"},
      {"overflow_bytes", "overflows the byte count"},
      {"overflow_empty_shape", "overflows the element count"},
      {"offsets_one_number", "\"data_offsets\" must be [begin, end], two non-negative integers"},
      {"offsets_negative", "\"data_offsets\" must be [begin, end], two non-negative integers"},
      {"offsets_float", "\"data_offsets\" must be [begin, end], two non-negative integers"},
      {"offsets_reversed", "data_offsets [8, 0] end before they begin"},
      {"wrong_size", "shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8"},
      {"wrong_size_i64", "shape [2] of I64 needs 16 bytes"},
      {"overlapping_offsets",
       "tensor \"b\" starts at data byte 4 where 8 was expected (it overlaps"},
      {"same_offsets", "tensor \"b\" starts at data byte 0 where 8 was expected (it overlaps"},
      {"gap", "tensor \"b\" starts at data byte 12 where 8 was expected (a gap before it)"},
      {"not_from_zero", "tensor \"w\" starts at data byte 4 where 0 was expected (a gap"},
      {"trailing_bytes", "tensors end at data byte 8 but the data section has 12 bytes (trailing"},
      {"data_truncated", "tensors end at data byte 8 but the data section has only 6 bytes"},
      {"no_data", "tensors end at data byte 8 but the data section has only 0 bytes"},
      {"duplicate_key", "duplicate key \"w\""},
      {"duplicate_field", "duplicate key \"dtype\""},
      {"duplicate_metadata_key", "duplicate key \"k\""},
      {"metadata_not_object", "\"__metadata__\" must be an object of strings"},
      {"metadata_value_not_string", "\"__metadata__\" value for key \"format\" must be a string"},
  };
  return table;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no ember::Error)";
}

TEST_F(SafetensorsTest, MalformedCorpusThrowsAClearErrorForEachFile) {
  const fs::path dir = fs::path(EMBER_TEST_DATA_DIR) / "safetensors_malformed";
  std::set<std::string> seen;
  for (const auto& file : fs::directory_iterator(dir)) {
    if (file.path().extension() != ".safetensors") continue;  // the generator writes only these
    const std::string stem = file.path().stem().string();
    const std::string path = file.path().string();
    SCOPED_TRACE(stem);
    seen.insert(stem);
    ASSERT_TRUE(malformed_table().count(stem)) << "add " << stem << " to the table";
    const std::string& part = malformed_table().at(stem);
    Metadata metadata = {{"untouched", "yes"}};
    const std::string from_file = error_of([&] { load(path, &metadata); });
    EXPECT_NE(from_file.find("invalid safetensors file \"" + path + "\": "), std::string::npos)
        << from_file;
    EXPECT_NE(from_file.find(part), std::string::npos) << from_file;
    const std::string from_bytes = error_of([&] { load_from_bytes(read_bytes(path), &metadata); });
    EXPECT_NE(from_bytes.find(part), std::string::npos) << from_bytes;
    EXPECT_EQ(metadata, (Metadata{{"untouched", "yes"}}));  // nothing half-updated
  }
  EXPECT_EQ(seen.size(), malformed_table().size()) << "a file of the table is missing";
}

// ---- interop with Python ----

struct ExpectedTensor {
  std::string name, dtype;
  Shape shape;
  std::vector<std::string> values;
};

// Parses tests/golden/fixtures/python_written.expected.txt (see make_safetensors_fixture.py).
std::vector<ExpectedTensor> read_expected(const fs::path& path) {
  std::ifstream in(path);
  std::vector<ExpectedTensor> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    ExpectedTensor e;
    int64_t ndim = 0, numel = 0;
    fields >> e.name >> e.dtype >> ndim;
    e.shape.resize(ndim);
    for (auto& size : e.shape) fields >> size;
    fields >> numel;
    e.values.resize(numel);
    for (auto& v : e.values) fields >> v;
    out.push_back(e);
  }
  return out;
}

template <class T>
void expect_float_values(const Tensor& t, const std::vector<std::string>& expected) {
  const std::vector<T> got = t.to_vector<T>();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const auto want = static_cast<T>(std::strtod(expected[i].c_str(), nullptr));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got[i])) << i;
    } else {  // bitwise, so -0.0 is told from 0.0
      EXPECT_EQ(std::memcmp(&got[i], &want, sizeof(T)), 0) << i << ": " << got[i] << " vs " << want;
    }
  }
}

TEST_F(SafetensorsTest, LoadsAFileWrittenFromPyTorch) {
  const fs::path dir = EMBER_FIXTURES_DIR;
  Metadata metadata;
  const StateDict dict = load((dir / "python_written.safetensors").string(), &metadata);
  EXPECT_EQ(metadata.at("format"), "pt");
  const std::vector<ExpectedTensor> expected = read_expected(dir / "python_written.expected.txt");
  ASSERT_EQ(dict.size(), expected.size());
  std::vector<std::string> expected_names;
  for (const auto& e : expected) {
    SCOPED_TRACE(e.name);
    expected_names.push_back(e.name);
    const Tensor& t = dict.at(e.name);
    EXPECT_EQ(t.sizes(), e.shape);
    if (e.dtype == "F32") {
      ASSERT_EQ(t.dtype(), kFloat32);
      expect_float_values<float>(t, e.values);
    } else if (e.dtype == "F64") {
      ASSERT_EQ(t.dtype(), kFloat64);
      expect_float_values<double>(t, e.values);
    } else {
      ASSERT_EQ(t.dtype(), kInt64);
      std::vector<int64_t> want;
      for (const auto& v : e.values) want.push_back(std::stoll(v));
      EXPECT_EQ(t.to_vector<int64_t>(), want);
    }
  }
  EXPECT_EQ(dict.keys(), expected_names);  // data order
  EXPECT_EQ(dict.at("bn.num_batches_tracked").dim(), 0);
  EXPECT_EQ(dict.at("bn.num_batches_tracked").item<int64_t>(), 1);
}

// A file written by ember reads correctly with numpy (tests/golden/safetensors_numpy.py checks each
// tensor against arange), and the file numpy writes back loads into the same tensors.
TEST_F(SafetensorsTest, EmberFilesReadInNumpyAndBack) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not available";
  }
  StateDict dict;
  dict.insert("matrix", arange(6, kFloat32).view({2, 3}));
  // Logical values 0..5 in a transposed (non-contiguous) layout.
  dict.insert("strided", arange(6, kFloat32).view({2, 3}).t().contiguous().t());
  dict.insert("steps", arange(4, kInt64));
  dict.insert("scalar", make<double>({0.0}, {}));
  dict.insert("nothing", empty({0, 2}, kFloat64));
  const std::string path = (dir_ / "ember.safetensors").string();
  save(dict, path, {{"format", "pt"}});

  const std::string script = std::string(EMBER_FIXTURES_DIR) + "/../safetensors_numpy.py";
  std::string listing;
  ASSERT_EQ(run("/usr/bin/python3 '" + script + "' list '" + path + "'", &listing), 0) << listing;
  EXPECT_EQ(listing,
            "matrix F32 [2, 3]\nstrided F32 [2, 3]\nsteps I64 [4]\nscalar F64 []\n"
            "nothing F64 [0, 2]\n");

  const std::string back = (dir_ / "numpy.safetensors").string();
  std::string output;
  ASSERT_EQ(
      run("/usr/bin/python3 '" + script + "' roundtrip '" + path + "' '" + back + "'", &output), 0)
      << output;
  Metadata metadata;
  const StateDict reloaded = load(back, &metadata);
  EXPECT_EQ(metadata, (Metadata{{"format", "pt"}}));
  ASSERT_EQ(reloaded.size(), dict.size());
  for (const auto& [name, t] : dict) EXPECT_TRUE(SameTensor(reloaded.at(name), t)) << name;
}

}  // namespace
}  // namespace ember
