// Every tensor op's forward against PyTorch: tests/golden/gen_ops.py ran each op in torch 1.13 and
// saved inputs and outputs in fixtures/ops.safetensors; here ember runs the same op on the same
// inputs. Expected values only ever come from the fixture, never from ember itself.
//
// Fixture names are <op>.<case>.<dtype>.<role> (see gen_ops.py). Each TEST walks every case of its
// op family found in the file, so a case added to the generator is tested without touching this
// file; a minimum case count per family keeps a truncated fixture from passing vacuously.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ember/ember.h"

using namespace ember;

namespace {

const StateDict& fixture() {
  static const StateDict dict = load(std::string(EMBER_FIXTURES_DIR) + "/ops.safetensors");
  return dict;
}

class Case {
 public:
  explicit Case(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  bool has(const std::string& role) const { return fixture().contains(key(role)); }
  // The input as the op sees it: permuted when the fixture stores it with a `<role>_perm`.
  Tensor in(const std::string& role) const {
    Tensor t = fixture().at(key(role));
    if (has(role + "_perm")) t = t.permute(ints(role + "_perm"));
    return t;
  }
  Tensor out() const { return fixture().at(key("out")); }
  Tensor at(const std::string& role) const { return fixture().at(key(role)); }
  Shape ints(const std::string& role) const { return at(role).to_vector<int64_t>(); }
  double scalar(const std::string& role) const { return at(role).item<double>(); }

 private:
  std::string key(const std::string& role) const { return name_ + "." + role; }
  std::string name_;
};

// Every case "<op>.<case>.<dtype>" of `op` (the prefix of each "...out" key), minus known bugs.
std::vector<Case> cases_of(const std::string& op) {
  std::vector<Case> found;
  const std::string head = op + ".", tail = ".out";
  for (const std::string& k : fixture().keys()) {
    if (k.rfind(head, 0) != 0 || k.size() < tail.size() ||
        k.compare(k.size() - tail.size(), tail.size(), tail) != 0)
      continue;
    const std::string name = k.substr(0, k.size() - tail.size());
    found.emplace_back(name);
  }
  return found;
}

// float64 results must agree to rounding (1e-12): every op here computes the same formula as
// PyTorch, at most summing in a different order, which costs a few ulps of O(1) values.
// float32: 1e-5 relative, 1e-6 absolute. int64: exactly.
struct Tolerance {
  double rtol, atol;
};
Tolerance tolerance_for(DType dtype) {
  switch (dtype) {
    case kFloat64:
      return {1e-12, 1e-12};
    case kFloat32:
      return {1e-5, 1e-6};
    case kInt64:
      break;
  }
  return {0, 0};
}

void expect_same(const Case& c, const Tensor& got, const Tensor& want) {
  ASSERT_TRUE(got.defined()) << c.name();
  EXPECT_EQ(shape_str(got.sizes()), shape_str(want.sizes())) << c.name();
  EXPECT_EQ(got.dtype(), want.dtype()) << c.name();
  if (got.sizes() != want.sizes()) return;
  const Tolerance tol = tolerance_for(want.dtype());
  EXPECT_TRUE(allclose(got, want, tol.rtol, tol.atol))
      << c.name() << ": max |diff| " << max_abs_diff(got, want) << "\n got  " << got << "\n want "
      << want;
}

void expect_out(const Case& c, const Tensor& got) { expect_same(c, got, c.out()); }

// Runs `check` on every case of each op and requires at least `min_cases` per op.
void for_each_case(const std::vector<std::string>& ops, size_t min_cases,
                   const std::function<void(const std::string& op, const Case&)>& check) {
  for (const std::string& op : ops) {
    const std::vector<Case> all = cases_of(op);
    EXPECT_GE(all.size(), min_cases) << "fixture has too few cases of " << op;
    for (const Case& c : all) {
      SCOPED_TRACE(c.name());
      check(op, c);
    }
  }
}

}  // namespace

TEST(OpsGolden, FixtureLoads) {
  // The generator writes ~1500 tensors; a small count means a stale or truncated fixture.
  EXPECT_GT(fixture().size(), 1000u);
}

TEST(OpsGolden, Arithmetic) {
  using Fn = std::function<Tensor(const Tensor&, const Tensor&)>;
  using ScalarFn = std::function<Tensor(const Tensor&, double)>;
  using LeftFn = std::function<Tensor(double, const Tensor&)>;
  const std::map<std::string, Fn> tt = {{"add", [](auto& a, auto& b) { return a + b; }},
                                        {"sub", [](auto& a, auto& b) { return a - b; }},
                                        {"mul", [](auto& a, auto& b) { return a * b; }},
                                        {"div", [](auto& a, auto& b) { return a / b; }}};
  const std::map<std::string, ScalarFn> ts = {{"add", [](auto& a, double s) { return a + s; }},
                                              {"sub", [](auto& a, double s) { return a - s; }},
                                              {"mul", [](auto& a, double s) { return a * s; }},
                                              {"div", [](auto& a, double s) { return a / s; }}};
  const std::map<std::string, LeftFn> st = {{"add", [](double s, auto& b) { return s + b; }},
                                            {"sub", [](double s, auto& b) { return s - b; }},
                                            {"mul", [](double s, auto& b) { return s * b; }},
                                            {"div", [](double s, auto& b) { return s / b; }}};
  for_each_case({"add", "sub", "mul", "div"}, 20, [&](const std::string& op, const Case& c) {
    if (c.has("s") && c.has("a")) return expect_out(c, ts.at(op)(c.in("a"), c.scalar("s")));
    if (c.has("s")) return expect_out(c, st.at(op)(c.scalar("s"), c.in("b")));
    expect_out(c, tt.at(op)(c.in("a"), c.in("b")));
  });
}

TEST(OpsGolden, Unary) {
  const std::map<std::string, std::function<Tensor(const Tensor&)>> ops = {
      {"neg", [](const Tensor& x) { return -x; }},
      {"exp", [](const Tensor& x) { return x.exp(); }},
      {"tanh", [](const Tensor& x) { return x.tanh(); }},
      {"sigmoid", [](const Tensor& x) { return x.sigmoid(); }},
      {"abs", [](const Tensor& x) { return x.abs(); }},
      {"relu", [](const Tensor& x) { return x.relu(); }},
      {"square", [](const Tensor& x) { return x.square(); }},
      {"sqrt", [](const Tensor& x) { return x.sqrt(); }},
      {"rsqrt", [](const Tensor& x) { return x.rsqrt(); }},
      {"log", [](const Tensor& x) { return x.log(); }}};
  std::vector<std::string> names;
  for (const auto& [name, fn] : ops) names.push_back(name);
  for_each_case(names, 9, [&](const std::string& op, const Case& c) {
    expect_out(c, ops.at(op)(c.in("x")));
  });
}

TEST(OpsGolden, Pow) {
  for_each_case({"pow"}, 16, [](const std::string&, const Case& c) {
    expect_out(c, c.in("x").pow(c.scalar("e")));
  });
  for_each_case({"pow_t"}, 6,
                [](const std::string&, const Case& c) { expect_out(c, c.in("a").pow(c.in("b"))); });
}

TEST(OpsGolden, Clamp) {
  for_each_case({"clamp"}, 2, [](const std::string&, const Case& c) {
    expect_out(c, c.in("x").clamp(c.scalar("lo"), c.scalar("hi")));
  });
  for_each_case({"clamp_min"}, 2, [](const std::string&, const Case& c) {
    expect_out(c, c.in("x").clamp_min(c.scalar("lo")));
  });
  for_each_case({"clamp_max"}, 2, [](const std::string&, const Case& c) {
    expect_out(c, c.in("x").clamp_max(c.scalar("hi")));
  });
}

TEST(OpsGolden, MaximumMinimum) {
  for_each_case({"maximum", "minimum"}, 4, [](const std::string& op, const Case& c) {
    expect_out(c, op == "maximum" ? maximum(c.in("a"), c.in("b")) : minimum(c.in("a"), c.in("b")));
  });
}

TEST(OpsGolden, Comparisons) {
  const std::map<std::string, Tensor (Tensor::*)(const Tensor&) const> ops = {
      {"eq", &Tensor::eq}, {"ne", &Tensor::ne}, {"lt", &Tensor::lt},
      {"le", &Tensor::le}, {"gt", &Tensor::gt}, {"ge", &Tensor::ge}};
  for_each_case({"eq", "ne", "lt", "le", "gt", "ge"}, 6, [&](const std::string& op, const Case& c) {
    expect_out(c, (c.in("a").*ops.at(op))(c.in("b")));
  });
}

TEST(OpsGolden, Where) {
  for_each_case({"where"}, 5, [](const std::string&, const Case& c) {
    expect_out(c, where(c.in("cond"), c.in("a"), c.in("b")));
  });
}

TEST(OpsGolden, SumMean) {
  // args: [keepdim, dims...]; no dims reduces everything through the no-argument overload.
  for_each_case({"sum", "mean"}, 17, [](const std::string& op, const Case& c) {
    const Shape args = c.ints("args");
    const bool keepdim = args[0] != 0;
    const Shape dims(args.begin() + 1, args.end());
    const Tensor x = c.in("x");
    if (dims.empty()) return expect_out(c, op == "sum" ? x.sum() : x.mean());
    expect_out(c, op == "sum" ? x.sum(dims, keepdim) : x.mean(dims, keepdim));
  });
}

TEST(OpsGolden, VarStd) {
  // args: [unbiased, keepdim, dims...].
  for_each_case({"var", "std"}, 16, [](const std::string& op, const Case& c) {
    const Shape args = c.ints("args");
    const bool unbiased = args[0] != 0, keepdim = args[1] != 0;
    const Shape dims(args.begin() + 2, args.end());
    const Tensor x = c.in("x");
    if (dims.empty() && unbiased) return expect_out(c, op == "var" ? x.var() : x.std());
    // No dims reduce over everything (the biased full reduction has no overload of its own).
    expect_out(c, op == "var" ? x.var(dims, unbiased, keepdim) : x.std(dims, unbiased, keepdim));
  });
}

TEST(OpsGolden, MaxMinArgmaxArgmin) {
  // args: [dim, keepdim]; without args the op runs over everything. `indices` are PyTorch's
  // argmax/argmin (the first extreme element, also on ties).
  for_each_case({"max", "min"}, 8, [](const std::string& op, const Case& c) {
    const Tensor x = c.in("x");
    const bool is_max = op == "max";
    if (!c.has("args")) {
      expect_out(c, is_max ? x.max() : x.min());
      // ember has argmax() over everything but no argmin(); argmin(0) of the flat view is the same.
      expect_same(c, is_max ? x.argmax() : x.reshape({-1}).argmin(0), c.at("indices"));
      return;
    }
    const Shape args = c.ints("args");
    const int64_t dim = args[0];
    const bool keepdim = args[1] != 0;
    expect_out(c, is_max ? x.max(dim, keepdim) : x.min(dim, keepdim));
    expect_same(c, is_max ? x.argmax(dim, keepdim) : x.argmin(dim, keepdim), c.at("indices"));
  });
}

TEST(OpsGolden, Matmul) {
  for_each_case({"matmul"}, 20, [](const std::string&, const Case& c) {
    expect_out(c, matmul(c.in("a"), c.in("b")));
  });
  for_each_case({"bmm"}, 2, [](const std::string&, const Case& c) {
    expect_out(c, bmm(c.in("a"), c.in("b")));
  });
}

TEST(OpsGolden, CatStack) {
  for_each_case({"cat", "stack"}, 7, [](const std::string& op, const Case& c) {
    std::vector<Tensor> parts;
    // Roles t0, t1, ... (appended rather than "t" + ..., which trips GCC 12's -Wrestrict).
    auto role = [](int i) { return std::string(1, 't').append(std::to_string(i)); };
    for (int i = 0; c.has(role(i)); ++i) parts.push_back(c.in(role(i)));
    const int64_t dim = c.ints("dim")[0];
    expect_out(c, op == "cat" ? cat(parts, dim) : stack(parts, dim));
  });
}

TEST(OpsGolden, Views) {
  // Views must share the input's storage and have PyTorch's strides, not just its values.
  using Fn = std::function<Tensor(const Tensor&, const Case&)>;
  const std::map<std::string, Fn> ops = {
      {"view", [](auto& x, auto& c) { return x.view(c.ints("shape")); }},
      {"reshape", [](auto& x, auto& c) { return x.reshape(c.ints("shape")); }},
      {"permute", [](auto& x, auto& c) { return x.permute(c.ints("dims")); }},
      {"transpose",
       [](auto& x, auto& c) { return x.transpose(c.ints("dims")[0], c.ints("dims")[1]); }},
      {"squeeze",
       [](auto& x, auto& c) {
         const Shape d = c.ints("dims");
         return d.empty() ? x.squeeze() : x.squeeze(d[0]);
       }},
      {"unsqueeze", [](auto& x, auto& c) { return x.unsqueeze(c.ints("dim")[0]); }},
      {"flatten", [](auto& x, auto& c) { return x.flatten(c.ints("dims")[0], c.ints("dims")[1]); }},
      {"slice",
       [](auto& x, auto& c) {
         const Shape a = c.ints("args");  // dim, start, end, step
         return x.slice(a[0], a[1], a[2], a[3]);
       }},
      {"select", [](auto& x, auto& c) { return x.select(c.ints("args")[0], c.ints("args")[1]); }},
      {"expand", [](auto& x, auto& c) { return x.expand(c.ints("shape")); }},
      {"contiguous", [](auto& x, auto&) { return x.contiguous(); }}};
  std::vector<std::string> names;
  for (const auto& [name, fn] : ops) names.push_back(name);
  for_each_case(names, 1, [&](const std::string& op, const Case& c) {
    const Tensor x = c.in("x");
    const Tensor y = ops.at(op)(x, c);
    expect_out(c, y);
    EXPECT_EQ(shape_str(y.strides()), shape_str(c.ints("strides")));
    // reshape of a transposed tensor and contiguous() of one must copy; everything else aliases.
    const bool copies = c.name() == "reshape.copy.f64" || op == "contiguous";
    EXPECT_EQ(y.shares_storage(x), !copies);
    if (op == "contiguous") {
      EXPECT_TRUE(y.is_contiguous());
    }
  });
}

TEST(OpsGolden, ChannelsLast) {
  // x (and y) are stored contiguous; xc is x in channels-last, as in the generator.
  using Fn = std::function<Tensor(const Tensor& xc, const Case&)>;
  const Fn as_is = [](const Tensor& xc, const Case&) { return xc; };
  const std::map<std::string, Fn> ops = {
      {"nchw", as_is},
      {"c1", as_is},
      {"hw1", as_is},
      {"add", [](auto& xc, auto& c) { return xc + c.in("y"); }},
      {"add_bias", [](auto& xc, auto& c) { return xc + c.in("y"); }},
      {"mul_scalar", [](auto& xc, auto&) { return xc * 2.0; }},
      {"exp", [](auto& xc, auto&) { return xc.exp(); }},
      {"relu", [](auto& xc, auto&) { return xc.relu(); }},
      {"clamp", [](auto& xc, auto&) { return xc.clamp(-0.5, 0.5); }},
      {"to_f32", [](auto& xc, auto&) { return xc.to(kFloat32).to(kFloat64); }},
      {"cl_plus_cl",
       [](auto& xc, auto& c) { return xc + c.in("y").contiguous(MemoryFormat::ChannelsLast); }},
      {"add_rev", [](auto& xc, auto& c) { return c.in("y") + xc; }},
      {"where",
       [](auto& xc, auto& c) { return where(xc.gt(zeros({}, kFloat64)), xc, c.in("y")); }}};
  size_t n = 0;
  for (const Case& c : cases_of("cl")) {
    SCOPED_TRACE(c.name());
    const std::string op = c.name().substr(3, c.name().rfind('.') - 3);
    ASSERT_TRUE(ops.count(op)) << "no ember op for fixture case " << c.name();
    const Tensor y = ops.at(op)(c.in("x").contiguous(MemoryFormat::ChannelsLast), c);
    expect_out(c, y);
    EXPECT_EQ(shape_str(y.strides()), shape_str(c.ints("strides")));
    ++n;
  }
  EXPECT_GE(n, 10u);
}

TEST(OpsGolden, To) {
  // The target dtype is the expected output's; float -> int64 truncates toward zero.
  for_each_case({"to"}, 6, [](const std::string&, const Case& c) {
    expect_out(c, c.in("x").to(c.out().dtype()));
  });
}

// ---- regressions: bugs these tests found, with the fixture cases they replay ----

TEST(OpsGolden, RegressionIntDivision) {
  // Was a bug (fixed): int64 / int64 and int64 / integral scalar truncate and return int64;
  // PyTorch's `/` is true division and returns float32 (tensor([5, -5]) / 2 == tensor([2.5,
  // -2.5])). core/kernels/elementwise.cpp binary() divides in promote(a, b) == Int64, and
  // scalar_result_dtype() keeps Int64 for an integral scalar. Fix: in binary(), when
  // op == BinaryOp::Div and the promoted dtype is Int64, compute in kFloat32.
  for (const std::string name : {"div.int.i64", "div.int_pyint.i64"}) {
    const Case c(name);
    expect_out(c, c.has("s") ? c.in("a") / c.scalar("s") : c.in("a") / c.in("b"));
  }
}

TEST(OpsGolden, RegressionZeroDimPromotion) {
  // Was a bug (fixed): float32[2, 3] + float64 rank-0 tensor gives float64; PyTorch gives float32,
  // because a zero-dim tensor only decides the dtype when its category (float > int) is higher than
  // the dimensioned operands'. core/kernels/elementwise.cpp binary() (and where()) use
  // promote(a.dtype(), b.dtype()). Fix: a result_type(a, b) that, when exactly one operand has
  // dim() == 0, returns the dimensioned operand's dtype unless the zero-dim one is floating and
  // the dimensioned one is Int64 (then the zero-dim dtype).
  const std::map<std::string, std::function<Tensor(const Tensor&, const Tensor&)>> ops = {
      {"add", [](auto& a, auto& b) { return a + b; }},
      {"sub", [](auto& a, auto& b) { return a - b; }},
      {"mul", [](auto& a, auto& b) { return a * b; }},
      {"div", [](auto& a, auto& b) { return a / b; }}};
  for (const auto& [op, fn] : ops) {
    const Case c(op + ".scalar_promote.mix");
    expect_out(c, fn(c.in("a"), c.in("b")));
  }
}

TEST(OpsGolden, RegressionLayoutFirstOperand) {
  // Was a bug (fixed): contiguous + channels-last gives channels-last; PyTorch's TensorIterator
  // lets the first full-size operand decide, so y + x_cl is contiguous (and x_cl + y
  // channels-last). core/tensor.cpp detail::result_format() returns ChannelsLast when *any* input
  // is. Fix: return the suggest_memory_format() of the first input whose sizes() equal the output
  // shape.
  const Case c("cl.add_rev.f64");
  const Tensor y = c.in("y") + c.in("x").contiguous(MemoryFormat::ChannelsLast);
  expect_out(c, y);
  EXPECT_EQ(shape_str(y.strides()), shape_str(c.ints("strides")));
}

TEST(OpsGolden, RegressionWhereLayout) {
  // Was a bug (fixed): where() always returns a contiguous tensor; PyTorch keeps channels-last when
  // the first full-size operand (here the condition x_cl > 0) is channels-last.
  // core/kernels/elementwise.cpp where() allocates detail::new_tensor(shape, dtype) and fills it
  // through flat contiguous indices. Fix: allocate with
  // detail::result_format(shape, {&cond, &a, &b}) and fill with a strided 4-operand loop
  // (make_plan<4>/run_plan) instead of the flat index loop.
  const Case c("cl.where.f64");
  const Tensor xc = c.in("x").contiguous(MemoryFormat::ChannelsLast);
  const Tensor y = where(xc.gt(zeros({}, kFloat64)), xc, c.in("y"));
  expect_out(c, y);
  EXPECT_EQ(shape_str(y.strides()), shape_str(c.ints("strides")));
}

TEST(OpsGolden, RegressionViewOfZeroDim) {
  // Was a bug (fixed): viewing or reshaping a rank-0 tensor to a shape of ones throws "view size is
  // not compatible ..." (PyTorch: torch.tensor(2.).view(1, 1) has strides [1, 1]); flatten() of a
  // scalar throws too, and so does the backward of matmul(1-D, 1-D), which reshapes its [] gradient
  // back to [1, 1] (see GradcheckOps.RegressionMatmulVectorVector).
  // autograd/ops_view.cpp view_strides(): with empty `sizes` the loop over the old dims never runs,
  // so view_d stays at shape.size() - 1 and it returns false. Fix (ATen's computeStride does the
  // same): at the top, `if (sizes.empty()) { out.assign(shape.size(), 1); return true; }`.
  for (const std::string name : {"view.from_scalar.f64", "reshape.from_scalar.f64"}) {
    const Case c(name);
    const Tensor y =
        name[0] == 'v' ? c.in("x").view(c.ints("shape")) : c.in("x").reshape(c.ints("shape"));
    expect_out(c, y);
    EXPECT_EQ(shape_str(y.strides()), shape_str(c.ints("strides")));
  }
  const Case c("flatten.scalar.f64");
  expect_out(c, c.in("x").flatten());
}
