// operator<< against PyTorch's repr() of the same tensors (fixtures/print_cases.txt, written by
// tests/golden/gen_print.py; the file format is described there).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "ember/autograd/node.h"
#include "ember/tensor.h"

namespace ember {
namespace {

struct PrintCase {
  std::string name;
  DType dtype = kFloat32;
  Shape shape;
  std::string autograd;  // "none", "requires_grad" or "grad_fn <NodeName>"
  std::vector<double> values;
  std::string expected;
};

DType parse_dtype(const std::string& name) {
  if (name == "float64") return kFloat64;
  if (name == "int64") return kInt64;
  EMBER_CHECK(name == "float32", "print fixture: unknown dtype ", name);
  return kFloat32;
}

// The text after `key ` on the next line.
std::string read_field(std::istream& in, const std::string& key) {
  std::string line;
  EMBER_CHECK(std::getline(in, line), "print fixture: missing '", key, "'");
  EMBER_CHECK(line.rfind(key, 0) == 0, "print fixture: expected '", key, "', got '", line, "'");
  return line.size() > key.size() ? line.substr(key.size() + 1) : "";
}

// strtod reads float.hex() output ("0x1.8p+1", "-inf", "nan") and plain integers exactly.
std::vector<double> read_values(std::istream& in, size_t count) {
  std::vector<double> values;
  std::string line;
  while (values.size() < count && std::getline(in, line)) {
    std::istringstream tokens(line);
    std::string token;
    while (tokens >> token) values.push_back(std::strtod(token.c_str(), nullptr));
  }
  EMBER_CHECK(values.size() == count, "print fixture: expected ", count, " values");
  return values;
}

// The repr is a length-prefixed block, so it may hold newlines and trailing spaces.
std::string read_repr(std::istream& in) {
  const size_t length = std::stoul(read_field(in, "repr"));
  std::string text(length, '\0');
  in.read(text.data(), static_cast<std::streamsize>(length));
  in.ignore(1);
  EMBER_CHECK(read_field(in, "end").empty(), "print fixture: repr length does not match");
  return text;
}

PrintCase read_case(std::istream& in, const std::string& name) {
  PrintCase c;
  c.name = name;
  c.dtype = parse_dtype(read_field(in, "dtype"));
  std::istringstream dims(read_field(in, "shape"));
  c.shape.assign(std::istream_iterator<int64_t>(dims), std::istream_iterator<int64_t>());
  c.autograd = read_field(in, "autograd");
  c.values = read_values(in, std::stoul(read_field(in, "values")));
  c.expected = read_repr(in);
  return c;
}

void PrintTo(const PrintCase& c, std::ostream* out) { *out << c.name; }

struct Fixture {
  std::vector<PrintCase> cases;
  std::string error;  // reported by a test: throwing here would abort test registration
};

Fixture load_fixture() {
  const std::string path = std::string(EMBER_FIXTURES_DIR) + "/print_cases.txt";
  std::ifstream in(path, std::ios::binary);
  Fixture fixture;
  if (!in) fixture.error = "cannot open " + path;
  std::string line;
  try {
    while (std::getline(in, line)) {
      if (line.rfind("case ", 0) == 0) fixture.cases.push_back(read_case(in, line.substr(5)));
    }
  } catch (const std::exception& e) {
    fixture.error = e.what();
  }
  return fixture;
}

const Fixture& fixture() {
  static const Fixture loaded = load_fixture();
  return loaded;
}

// A gradient pass-through node: only its name matters for printing.
std::vector<Tensor> identity_grad(const Tensor& grad) { return {grad}; }

// The tensor of a case, with the autograd state PyTorch's tensor had.
Tensor build(const PrintCase& c) {
  Tensor t = tensor(c.values, c.shape, c.dtype);
  if (c.autograd == "requires_grad") t.requires_grad_();
  const std::string grad_fn_prefix = "grad_fn ";
  if (c.autograd.rfind(grad_fn_prefix, 0) == 0) {
    // The values are the op's output; any input that requires grad makes the node stick.
    Tensor input = t.clone().requires_grad_();
    t = autograd::record_function(c.autograd.substr(grad_fn_prefix.size()), {input}, t,
                                  identity_grad);
  }
  return t;
}

std::string printed(const Tensor& t) {
  std::ostringstream out;
  out << t;
  return out.str();
}

TEST(PrintFixture, Loads) {
  EXPECT_EQ(fixture().error, "");
  EXPECT_GE(fixture().cases.size(), 30u);
}

class PrintGoldenTest : public ::testing::TestWithParam<PrintCase> {};

TEST_P(PrintGoldenTest, MatchesTorchRepr) {
  const PrintCase& c = GetParam();
  EXPECT_EQ(printed(build(c)), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Torch, PrintGoldenTest, ::testing::ValuesIn(fixture().cases),
                         [](const ::testing::TestParamInfo<PrintCase>& info) {
                           return info.param.name;
                         });

TEST(PrintTest, RequiresGradSuffixFollowsRequiresGrad) {
  Tensor t = tensor({1.0f, 2.0f, 3.0f}, {3});
  EXPECT_EQ(printed(t), "tensor([1., 2., 3.])");
  t.requires_grad_();
  EXPECT_EQ(printed(t), "tensor([1., 2., 3.], requires_grad=True)");
  t.requires_grad_(false);
  EXPECT_EQ(printed(t), "tensor([1., 2., 3.])");
}

TEST(PrintTest, ViewsPrintInLogicalOrder) {
  const Tensor t = tensor({1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f}, {2, 3});
  EXPECT_EQ(printed(t.transpose(0, 1)),
            "tensor([[1.5000, 4.5000],\n"
            "        [2.5000, 5.5000],\n"
            "        [3.5000, 6.5000]])");
}

TEST(PrintTest, LeavesStreamUsable) {
  std::ostringstream out;
  out << "x = " << tensor({0.0f}, {1}) << ";";
  EXPECT_EQ(out.str(), "x = tensor([0.]);");
}

TEST(PrintTest, UndefinedTensor) { EXPECT_EQ(printed(Tensor()), "[ Tensor (undefined) ]"); }

}  // namespace
}  // namespace ember
