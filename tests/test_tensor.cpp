// Tensor core: factories, views sharing storage, broadcasting, layouts, in-place ops, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "ember/ember.h"

using namespace ember;

namespace {
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
}  // namespace

TEST(Tensor, FactoriesHaveShapeDtypeAndValues) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.sizes(), (Shape{2, 3}));
  EXPECT_EQ(z.dtype(), kFloat32);
  EXPECT_EQ(values(z), std::vector<double>(6, 0.0));
  EXPECT_EQ(values(ones({2}, kFloat64)), (std::vector<double>{1, 1}));
  EXPECT_EQ(values(full({3}, 2.5)), (std::vector<double>{2.5, 2.5, 2.5}));
  EXPECT_EQ(values(arange(4, kInt64)), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(arange(4, kInt64).dtype(), kInt64);
  EXPECT_EQ(values(arange(0.5, 2.0, 0.5, kFloat64)), (std::vector<double>{0.5, 1.0, 1.5}));
  Tensor s = scalar_tensor(3.0);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item<float>(), 3.0f);
  EXPECT_EQ(empty({0, 3}).numel(), 0);
}

TEST(Tensor, TensorFromValuesChecksCount) {
  EXPECT_THROW(tensor({1, 2, 3}, {2, 2}), Error);
  try {
    tensor({1, 2, 3}, {2, 2});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 2]"), std::string::npos);
  }
}

TEST(Tensor, RandomIsReproducibleWithManualSeed) {
  manual_seed(7);
  Tensor a = randn({100});
  Tensor u = rand({1000});
  manual_seed(7);
  Tensor b = randn({100});
  EXPECT_EQ(values(a), values(b));
  for (double v : values(u)) {
    EXPECT_GE(v, 0.0);
    EXPECT_LT(v, 1.0);
  }
  manual_seed(1);
  Tensor big = randn({20000}, kFloat64);
  EXPECT_NEAR(big.mean().item<double>(), 0.0, 0.05);
  EXPECT_NEAR(big.std().item<double>(), 1.0, 0.05);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor x = arange(0, 12, 1, kFloat32);
  Tensor v = x.view({3, 4});
  Tensor t = v.transpose(0, 1);
  Tensor s = v.slice(1, 1, 3);
  Tensor row = v.select(0, 2);
  EXPECT_TRUE(v.shares_storage(x));
  EXPECT_TRUE(t.shares_storage(x));
  EXPECT_TRUE(s.shares_storage(x));
  EXPECT_EQ(values(row), (std::vector<double>{8, 9, 10, 11}));
  EXPECT_EQ(values(s), (std::vector<double>{1, 2, 5, 6, 9, 10}));
  EXPECT_EQ(values(t.select(0, 1)), (std::vector<double>{1, 5, 9}));
  EXPECT_FALSE(t.is_contiguous());
  row.fill_(-1);  // writes through the view
  EXPECT_EQ(x.to_vector<float>()[8], -1.0f);
  EXPECT_EQ(values(v.unsqueeze(0).squeeze(0)), values(v));
  EXPECT_EQ(v.unsqueeze(1).sizes(), (Shape{3, 1, 4}));
  EXPECT_EQ(v.unsqueeze(-1).sizes(), (Shape{3, 4, 1}));
  EXPECT_EQ(x.view({2, -1, 3}).sizes(), (Shape{2, 2, 3}));
  EXPECT_EQ(x.view({2, 2, 3}).flatten(1).sizes(), (Shape{2, 6}));
  EXPECT_EQ(x.view({2, 2, 3}).permute({2, 0, 1}).sizes(), (Shape{3, 2, 2}));
  EXPECT_EQ(v.slice(0, 0, 3, 2).sizes(), (Shape{2, 4}));
  EXPECT_EQ(values(v.slice(1, -2, 4)), (std::vector<double>{2, 3, 6, 7, -1, -1}));
}

TEST(Tensor, ViewOfNonContiguousThrowsReshapeCopies) {
  Tensor v = arange(0, 6, 1, kFloat32).view({2, 3}).t();
  EXPECT_THROW(v.view({6}), Error);
  Tensor r = v.reshape({6});
  EXPECT_EQ(values(r), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  EXPECT_FALSE(r.shares_storage(v));
  EXPECT_THROW(v.view({4}), Error);
}

TEST(Tensor, ExpandUsesZeroStrides) {
  Tensor x = tensor({1, 2, 3}, {3, 1});
  Tensor e = x.expand({3, 4});
  EXPECT_EQ(e.stride(1), 0);
  EXPECT_EQ(values(e.contiguous()), (std::vector<double>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}));
  EXPECT_THROW(x.expand({2, 4}), Error);
  EXPECT_EQ(x.expand({2, 3, 2}).sizes(), (Shape{2, 3, 2}));
}

TEST(Tensor, ChannelsLastLayout) {
  Tensor x = arange(0, 24, 1, kFloat32).view({1, 2, 3, 4});
  Tensor cl = x.contiguous(MemoryFormat::ChannelsLast);
  EXPECT_TRUE(cl.is_contiguous(MemoryFormat::ChannelsLast));
  EXPECT_FALSE(cl.is_contiguous());
  EXPECT_EQ(cl.strides(), (Shape{24, 1, 8, 2}));
  EXPECT_EQ(values(cl), values(x));  // same logical values
  // Elementwise ops keep channels-last.
  Tensor y = cl * 2.0 + cl;
  EXPECT_TRUE(y.is_contiguous(MemoryFormat::ChannelsLast));
  EXPECT_EQ(values(y), values(x * 3.0));
  EXPECT_TRUE(cl.exp().is_contiguous(MemoryFormat::ChannelsLast));
  EXPECT_THROW(zeros({2, 3}).contiguous(MemoryFormat::ChannelsLast), Error);
  EXPECT_EQ(values(cl.contiguous()), values(x));
}

TEST(Tensor, BroadcastingEdgeCases) {
  Tensor a = tensor({1, 2, 3}, {3});
  Tensor b = tensor({10, 20}, {2, 1});
  EXPECT_EQ(values(a + b), (std::vector<double>{11, 12, 13, 21, 22, 23}));
  EXPECT_EQ((a + b).sizes(), (Shape{2, 3}));
  EXPECT_EQ(values(a + scalar_tensor(1)), (std::vector<double>{2, 3, 4}));
  EXPECT_EQ(values(a * 2.0), (std::vector<double>{2, 4, 6}));
  EXPECT_EQ(values(1.0 - a), (std::vector<double>{0, -1, -2}));
  EXPECT_EQ(values(6.0 / a), (std::vector<double>{6, 3, 2}));
  Tensor empty_rows = zeros({0, 3});
  EXPECT_EQ((empty_rows + a).sizes(), (Shape{0, 3}));
  EXPECT_EQ((zeros({4, 1, 3}) + zeros({2, 1})).sizes(), (Shape{4, 2, 3}));
  EXPECT_THROW(a + zeros({2}), Error);
  try {
    a + zeros({2, 4});
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("[3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2, 4]"), std::string::npos) << msg;
  }
}

TEST(Tensor, DtypePromotionAndConversion) {
  Tensor i = arange(3, kInt64);
  Tensor f = ones({3});
  Tensor d = ones({3}, kFloat64);
  EXPECT_EQ((i + f).dtype(), kFloat32);
  EXPECT_EQ((f + d).dtype(), kFloat64);
  EXPECT_EQ((i + 1.0).dtype(), kInt64);
  EXPECT_EQ((i * 0.5).dtype(), kFloat32);
  EXPECT_EQ(tensor({1.7, -1.7}, {2}, kFloat64).to(kInt64).to_vector<int64_t>(),
            (std::vector<int64_t>{1, -1}));
  EXPECT_EQ(i.exp().dtype(), kFloat32);
}

TEST(Tensor, ReductionsOverDims) {
  Tensor x = arange(0, 24, 1, kFloat64).view({2, 3, 4});
  EXPECT_EQ(x.sum().item<double>(), 276.0);
  EXPECT_EQ(x.sum({0, 2}).sizes(), (Shape{3}));
  EXPECT_EQ(values(x.sum({0, 2})), (std::vector<double>{60, 92, 124}));
  EXPECT_EQ(x.sum({1}, true).sizes(), (Shape{2, 1, 4}));
  EXPECT_EQ(values(x.mean({-1})), (std::vector<double>{1.5, 5.5, 9.5, 13.5, 17.5, 21.5}));
  // {0} must select dim 0 (not convert to a bool argument).
  EXPECT_EQ(x.var({0}).sizes(), (Shape{3, 4}));
  EXPECT_EQ(x.std({0}).sizes(), (Shape{3, 4}));
  EXPECT_DOUBLE_EQ(tensor({1, 2, 3, 4}, {4}, kFloat64).var().item<double>(), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(tensor({1, 2, 3, 4}, {4}, kFloat64).var({}, false).item<double>(), 1.25);
  EXPECT_EQ(values(x.max(2)), (std::vector<double>{3, 7, 11, 15, 19, 23}));
  EXPECT_EQ(values(x.min(0)), values(x.select(0, 0)));
  EXPECT_EQ(x.argmax().item<int64_t>(), 23);
  EXPECT_EQ(x.argmax(1).to_vector<int64_t>(), std::vector<int64_t>(8, 2));
  EXPECT_EQ(zeros({0}).sum().item<double>(), 0.0);
  EXPECT_TRUE(std::isnan(zeros({0}).mean().item<double>()));
  EXPECT_THROW(zeros({0}).max(), Error);
  EXPECT_THROW(x.sum({3}), Error);
  EXPECT_THROW(arange(3, kInt64).mean(), Error);
  EXPECT_EQ(arange(5, kInt64).sum().item<int64_t>(), 10);
}

TEST(Tensor, StableVarianceFarFromZero) {
  // 10000 + 0.25 k in float32: naive E[x²]−E[x]² loses every digit here.
  std::vector<float> v;
  for (int k = 0; k < 8; ++k) v.push_back(10000.0f + 0.25f * k);
  Tensor x = tensor(v, {8});
  EXPECT_NEAR(x.var({}, false).item<double>(), 0.328125, 1e-6);
}

TEST(Tensor, MatmulShapes) {
  Tensor a = arange(0, 6, 1, kFloat64).view({2, 3});
  Tensor b = arange(0, 12, 1, kFloat64).view({3, 4});
  Tensor c = matmul(a, b);
  EXPECT_EQ(c.sizes(), (Shape{2, 4}));
  EXPECT_EQ(values(c), (std::vector<double>{20, 23, 26, 29, 56, 68, 80, 92}));
  EXPECT_EQ(matmul(arange(0, 3, 1, kFloat64), b).sizes(), (Shape{4}));
  EXPECT_EQ(matmul(a, arange(0, 3, 1, kFloat64)).sizes(), (Shape{2}));
  EXPECT_EQ(matmul(arange(0, 3, 1, kFloat64), arange(0, 3, 1, kFloat64)).item<double>(), 5.0);
  EXPECT_EQ(matmul(zeros({5, 2, 3}), zeros({3, 4})).sizes(), (Shape{5, 2, 4}));
  EXPECT_EQ(values(matmul(a.t(), a)), values(matmul(a.t().contiguous(), a)));
  EXPECT_THROW(matmul(a, a), Error);
  EXPECT_EQ(bmm(zeros({2, 3, 4}), zeros({2, 4, 5})).sizes(), (Shape{2, 3, 5}));
}

TEST(Tensor, CatAndStack) {
  Tensor a = tensor({1, 2}, {1, 2});
  Tensor b = tensor({3, 4, 5, 6}, {2, 2});
  EXPECT_EQ(values(cat({a, b}, 0)), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(cat({b, b}, 1).sizes(), (Shape{2, 4}));
  EXPECT_EQ(stack({a, a}, 0).sizes(), (Shape{2, 1, 2}));
  EXPECT_EQ(stack({a, a}, -1).sizes(), (Shape{1, 2, 2}));
  EXPECT_THROW(cat({a, b}, 1), Error);
  EXPECT_THROW(stack({a, b}), Error);
}

TEST(Tensor, InPlaceOpsBumpVersion) {
  Tensor x = zeros({3});
  const uint64_t v0 = x.version();
  x.add_(ones({3}));
  x.mul_(3.0);
  x.add_(1.0);
  EXPECT_EQ(values(x), (std::vector<double>{4, 4, 4}));
  EXPECT_GT(x.version(), v0);
  x.copy_(tensor({1, 2, 3}, {3}));
  EXPECT_EQ(values(x), (std::vector<double>{1, 2, 3}));
  x.zero_();
  EXPECT_EQ(values(x), (std::vector<double>{0, 0, 0}));
  EXPECT_THROW(x.add_(ones({4})), Error);
  EXPECT_THROW(arange(3, kInt64).add_(ones({3})), Error);  // float can't be cast into int64
}

TEST(Tensor, ElementwiseMath) {
  Tensor x = tensor({-2, -0.5, 0, 0.5, 2}, {5}, kFloat64);
  EXPECT_EQ(values(x.relu()), (std::vector<double>{0, 0, 0, 0.5, 2}));
  EXPECT_EQ(values(x.abs()), (std::vector<double>{2, 0.5, 0, 0.5, 2}));
  EXPECT_EQ(values(x.clamp(-1, 1)), (std::vector<double>{-1, -0.5, 0, 0.5, 1}));
  EXPECT_EQ(values(x.gt(zeros({1}, kFloat64))), (std::vector<double>{0, 0, 0, 1, 1}));
  EXPECT_EQ(values(maximum(x, zeros({1}, kFloat64))), values(x.relu()));
  EXPECT_EQ(values(x.pow(2.0)), values(x * x));
  EXPECT_DOUBLE_EQ(x.exp().log().to_vector<double>()[4], 2.0);
  EXPECT_EQ(values(where(x.gt(zeros({}, kFloat64)), x, zeros({}, kFloat64))), values(x.relu()));
}

TEST(Tensor, ItemAndUndefined) {
  EXPECT_THROW(zeros({2}).item<float>(), Error);
  Tensor u;
  EXPECT_FALSE(u.defined());
  EXPECT_THROW(u.sizes(), Error);
  EXPECT_THROW(zeros({2}).data_ptr<double>(), Error);
}

TEST(Runtime, Threads) {
  const int before = get_num_threads();
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  set_num_threads(before);
  EXPECT_THROW(set_num_threads(0), Error);
}
