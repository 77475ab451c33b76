// nn::Module and the containers: registration and name checks, PyTorch's traversal order and
// dotted names, train/eval, zero_grad, to(dtype), state_dict / load_state_dict (handles stay
// valid, dtype casts, PyTorch's error texts, nothing half-loaded) and the printed reprs.
// Every expected name list and repr below was printed by torch 1.13 (/usr/bin/python3); the
// comment above each says which expression produced it.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ember/ember.h"
#include "tests/nn_test_util.h"

namespace ember {
namespace {

using test_util::error_of;
using test_util::snapshot;
using test_util::values;
using Strings = std::vector<std::string>;

std::shared_ptr<nn::Sequential> seq(std::initializer_list<std::shared_ptr<nn::Module>> modules) {
  return std::make_shared<nn::Sequential>(modules);
}

// The model the order tests use; in PyTorch:
//   m = nn.Sequential(nn.BatchNorm2d(3), nn.Sequential(nn.LayerNorm([3, 4, 4]), nn.GroupNorm(1,
//   3)))
std::shared_ptr<nn::Sequential> nested_model() {
  return seq(
      {std::make_shared<nn::BatchNorm2d>(3), seq({std::make_shared<nn::LayerNorm>(Shape{3, 4, 4}),
                                                  std::make_shared<nn::GroupNorm>(1, 3)})});
}

template <class T>
Strings names(const std::vector<std::pair<std::string, T>>& items) {
  Strings out;
  for (const auto& item : items) out.push_back(item.first);
  return out;
}

std::string repr_of(const nn::Module& m) {
  std::ostringstream out;
  out << m;
  return out.str();
}

// A user-defined module, registering in the order scale, steps, inner, shift, like this PyTorch
// class (used for the expected literals below):
//   class Affine(nn.Module):
//     def __init__(s):
//       super().__init__()
//       s.register_parameter('scale', nn.Parameter(torch.ones(3)))
//       s.register_buffer('steps', torch.zeros((), dtype=torch.long))
//       s.inner = nn.BatchNorm1d(3)
//       s.register_parameter('shift', nn.Parameter(torch.zeros(3)))
class Affine : public nn::Module {
 public:
  Affine() {
    scale_ = &register_parameter("scale", ones({3}));
    register_buffer("steps", zeros({}, kInt64));
    inner_ = register_module("inner", std::make_shared<nn::BatchNorm1d>(3));
    shift_ = &register_parameter("shift", zeros({3}));
  }
  std::string name() const override { return "Affine"; }
  Tensor forward(const Tensor& x) override { return inner_->forward(x * *scale_ + *shift_); }

  // The registration calls are protected; these let the tests probe the name checks.
  void add_parameter(const std::string& n) { register_parameter(n, zeros({1})); }
  void add_buffer(const std::string& n) { register_buffer(n, zeros({1})); }
  void add_module(const std::string& n) {
    register_module(n, std::make_shared<nn::LayerNorm>(Shape{2}));
  }

  Tensor* scale_;
  Tensor* shift_;
  std::shared_ptr<nn::BatchNorm1d> inner_;
};

TEST(Module, CustomModuleRegistersInPyTorchOrder) {
  Affine m;
  // [n for n, _ in Affine().named_parameters()] and named_buffers(): own entries in registration
  // order first, then the children's.
  EXPECT_EQ(names(m.named_parameters()), (Strings{"scale", "shift", "inner.weight", "inner.bias"}));
  EXPECT_EQ(names(m.named_buffers()), (Strings{"steps", "inner.running_mean", "inner.running_var",
                                               "inner.num_batches_tracked"}));
  EXPECT_EQ(names(m.named_parameters(/*recurse=*/false)), (Strings{"scale", "shift"}));
  EXPECT_EQ(names(m.named_buffers(/*recurse=*/false)), (Strings{"steps"}));
  EXPECT_EQ(m.parameters().size(), 4u);
  EXPECT_EQ(m.buffers().size(), 4u);
  // list(Affine().state_dict().keys()): per module, parameters then buffers.
  EXPECT_EQ(m.state_dict().keys(),
            (Strings{"scale", "shift", "steps", "inner.weight", "inner.bias", "inner.running_mean",
                     "inner.running_var", "inner.num_batches_tracked"}));
  // Parameters require grad; buffers do not.
  EXPECT_TRUE(m.scale_->requires_grad());
  EXPECT_FALSE(m.named_buffers(false)[0].second.requires_grad());
  // The references register_* returned stay valid after later registrations (deque storage) and
  // refer to the registered tensors.
  EXPECT_TRUE(m.scale_->is_same(m.named_parameters()[0].second));
  EXPECT_TRUE(m.shift_->is_same(m.named_parameters()[1].second));
  ASSERT_EQ(m.children().size(), 1u);
  EXPECT_EQ(names(m.named_children()), (Strings{"inner"}));
  EXPECT_EQ(m.children()[0].get(), m.inner_.get());
  // repr(Affine())
  EXPECT_EQ(repr_of(m),
            "Affine(\n"
            "  (inner): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, "
            "track_running_stats=True)\n"
            ")");
  Tensor y = m(randn({4, 3}));
  EXPECT_EQ(y.sizes(), (Shape{4, 3}));
}

TEST(Module, RegistrationRejectsBadNames) {
  Affine m;
  const auto before = m.state_dict().keys();
  // PyTorch raises KeyError for "" and names with "."; ember::Error here. Duplicates are refused
  // across kinds too (PyTorch: "attribute 'scale' already exists"), since state_dict keys must be
  // unique.
  for (const char* bad : {"", "a.b", ".", "scale", "steps", "shift"}) {
    SCOPED_TRACE(std::string("name '") + bad + "'");
    EXPECT_THROW(m.add_parameter(bad), Error);
    EXPECT_THROW(m.add_buffer(bad), Error);
    EXPECT_THROW(m.add_module(bad), Error);
  }
  EXPECT_THROW(m.add_parameter("inner"), Error);
  EXPECT_THROW(m.add_buffer("inner"), Error);
  EXPECT_THROW(m.add_module("inner"), Error);
  // A refused name leaves nothing half-registered.
  EXPECT_EQ(m.state_dict().keys(), before);
  EXPECT_EQ(m.children().size(), 1u);
  // Good names still work afterwards.
  m.add_parameter("extra");
  m.add_buffer("extra_buffer");
  m.add_module("extra_module");
  EXPECT_EQ(names(m.named_parameters(false)), (Strings{"scale", "shift", "extra"}));
  EXPECT_EQ(names(m.named_children()), (Strings{"inner", "extra_module"}));
}

TEST(Module, NestedNamesMatchPyTorch) {
  auto m = nested_model();
  // [n for n, _ in m.named_parameters()]
  EXPECT_EQ(names(m->named_parameters()),
            (Strings{"0.weight", "0.bias", "1.0.weight", "1.0.bias", "1.1.weight", "1.1.bias"}));
  // [n for n, _ in m.named_buffers()]
  EXPECT_EQ(names(m->named_buffers()),
            (Strings{"0.running_mean", "0.running_var", "0.num_batches_tracked"}));
  // [(n, type(x).__name__) for n, x in m.named_modules()]
  const auto modules = m->named_modules();
  EXPECT_EQ(names(modules), (Strings{"", "0", "1", "1.0", "1.1"}));
  Strings types;
  for (const auto& [n, mod] : modules) types.push_back(mod->name());
  EXPECT_EQ(types, (Strings{"Sequential", "BatchNorm2d", "Sequential", "LayerNorm", "GroupNorm"}));
  EXPECT_EQ(modules[0].second, m.get());
  // list(m.state_dict().keys())
  EXPECT_EQ(m->state_dict().keys(),
            (Strings{"0.weight", "0.bias", "0.running_mean", "0.running_var",
                     "0.num_batches_tracked", "1.0.weight", "1.0.bias", "1.1.weight", "1.1.bias"}));
  EXPECT_EQ(names(m->named_children()), (Strings{"0", "1"}));
  EXPECT_TRUE(m->named_parameters(/*recurse=*/false).empty());
  EXPECT_EQ(m->parameters().size(), 6u);
  EXPECT_EQ(m->buffers().size(), 3u);
  EXPECT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[1]->name(), "Sequential");
  // The container chains forward through its children.
  Tensor y = (*m)(randn({2, 3, 4, 4}));
  EXPECT_EQ(y.sizes(), (Shape{2, 3, 4, 4}));
}

TEST(Module, ModuleListNamesItsItemsLikePyTorch) {
  nn::ModuleList list{std::make_shared<nn::BatchNorm1d>(2),
                      std::make_shared<nn::LayerNorm>(Shape{3})};
  list.push_back(std::make_shared<nn::GroupNorm>(1, 2));
  // nn.ModuleList([nn.BatchNorm1d(2), nn.LayerNorm(3), nn.GroupNorm(1, 2)]).state_dict().keys()
  EXPECT_EQ(list.state_dict().keys(),
            (Strings{"0.weight", "0.bias", "0.running_mean", "0.running_var",
                     "0.num_batches_tracked", "1.weight", "1.bias", "2.weight", "2.bias"}));
  size_t count = 0;
  for (const auto& item : list) count += item != nullptr;
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(names(list.named_children()), (Strings{"0", "1", "2"}));
}

TEST(Module, TrainAndEvalRecurse) {
  auto m = nested_model();
  auto all_training = [&](bool expected) {
    for (const auto& [n, mod] : m->named_modules()) {
      EXPECT_EQ(mod->is_training(), expected) << "module '" << n << "'";
    }
  };
  all_training(true);  // PyTorch modules start in training mode.
  m->eval();
  all_training(false);
  m->train();
  all_training(true);
  m->train(false);
  all_training(false);
  // Switching a subtree leaves its parent and siblings alone.
  auto inner = std::dynamic_pointer_cast<nn::Sequential>((*m)[1]);
  ASSERT_TRUE(inner);
  inner->train();
  EXPECT_FALSE(m->is_training());
  EXPECT_FALSE((*m)[0]->is_training());
  EXPECT_TRUE((*inner)[0]->is_training());
  EXPECT_TRUE((*inner)[1]->is_training());
}

TEST(Module, ZeroGradDropsEveryGradient) {
  auto m = nested_model();
  Tensor y = (*m)(randn({2, 3, 4, 4}));
  (y * y).sum().backward();
  for (const auto& [n, p] : m->named_parameters()) {
    EXPECT_TRUE(p.grad().defined()) << n << " got no gradient";
  }
  m->zero_grad();
  // PyTorch 2.x's set_to_none=True: the gradients are gone, not zero-filled.
  for (const auto& [n, p] : m->named_parameters()) {
    EXPECT_FALSE(p.grad().defined()) << n;
    EXPECT_TRUE(p.requires_grad()) << n;
  }
}

TEST(Module, ToFloat64ConvertsInPlace) {
  auto m = nested_model();
  auto bn = std::dynamic_pointer_cast<nn::BatchNorm2d>((*m)[0]);
  ASSERT_TRUE(bn);
  bn->weight().detach().fill_(1.5);
  bn->running_var().fill_(0.25);
  // Handles taken before the conversion must see it (an optimizer holding parameters would
  // otherwise keep updating dead float32 copies).
  Tensor w = bn->weight();
  Tensor rv = bn->running_var();
  m->to(kFloat64);
  for (const auto& [n, t] : m->state_dict()) {
    // module.double() in PyTorch converts floating tensors only; the counter stays int64.
    EXPECT_EQ(t.dtype(), n == "0.num_batches_tracked" ? kInt64 : kFloat64) << n;
  }
  EXPECT_EQ(w.dtype(), kFloat64);
  EXPECT_EQ(rv.dtype(), kFloat64);
  EXPECT_EQ(values(w), (std::vector<double>{1.5, 1.5, 1.5}));
  EXPECT_EQ(values(rv), (std::vector<double>{0.25, 0.25, 0.25}));
  EXPECT_TRUE(bn->weight().requires_grad());
  EXPECT_TRUE(w.requires_grad());
  Tensor y = (*m)(randn({2, 3, 4, 4}, kFloat64));
  EXPECT_EQ(y.dtype(), kFloat64);
}

TEST(Module, StateDictValuesAreDetachedAndShared) {
  auto m = nested_model();
  auto bn = std::dynamic_pointer_cast<nn::BatchNorm2d>((*m)[0]);
  ASSERT_TRUE(bn);
  const StateDict sd = m->state_dict();
  for (const auto& [n, t] : sd) {
    EXPECT_FALSE(t.requires_grad()) << n;
    EXPECT_EQ(t.grad_fn(), nullptr) << n;
  }
  // Like PyTorch, the values alias the module's tensors (no copy).
  EXPECT_TRUE(sd.at("0.weight").shares_storage(bn->weight()));
  Tensor alias = sd.at("0.running_mean");
  alias.fill_(2.0);
  EXPECT_EQ(values(bn->running_mean()), (std::vector<double>{2, 2, 2}));
  const Tensor& counter = sd.at("0.num_batches_tracked");
  EXPECT_EQ(counter.dtype(), kInt64);
  EXPECT_EQ(counter.dim(), 0);
  EXPECT_EQ(counter.item<int64_t>(), 0);
}

TEST(Module, StateDictSkipsAbsentTensors) {
  // list(nn.BatchNorm2d(3, affine=False).state_dict().keys()) etc.
  EXPECT_EQ(nn::BatchNorm2d(nn::BatchNormOptions(3).affine(false)).state_dict().keys(),
            (Strings{"running_mean", "running_var", "num_batches_tracked"}));
  EXPECT_EQ(nn::BatchNorm2d(nn::BatchNormOptions(3).track_running_stats(false)).state_dict().keys(),
            (Strings{"weight", "bias"}));
  EXPECT_TRUE(nn::InstanceNorm2d(3).state_dict().empty());
  EXPECT_EQ(
      nn::InstanceNorm2d(nn::InstanceNormOptions(3).track_running_stats(true)).state_dict().keys(),
      (Strings{"running_mean", "running_var", "num_batches_tracked"}));
  EXPECT_EQ(nn::InstanceNorm2d(nn::InstanceNormOptions(3).affine(true)).state_dict().keys(),
            (Strings{"weight", "bias"}));
  EXPECT_TRUE(
      nn::LayerNorm(nn::LayerNormOptions({4}).elementwise_affine(false)).state_dict().empty());
  EXPECT_TRUE(nn::GroupNorm(nn::GroupNormOptions(1, 3).affine(false)).state_dict().empty());
  // parameters() lists only defined tensors too.
  EXPECT_TRUE(nn::BatchNorm2d(nn::BatchNormOptions(3).affine(false)).parameters().empty());
}

// A dict with every entry of `m` replaced by a fresh value (entry + 1 + index), so a test can tell
// loaded values from old ones.
StateDict shifted_copy(const nn::Module& m, DType dtype) {
  StateDict out;
  double k = 1;
  for (const auto& [n, t] : m.state_dict()) {
    out.insert(n, (t.to(kFloat64) + k).to(t.dtype() == kInt64 ? kInt64 : dtype));
    k += 1;
  }
  return out;
}

TEST(Module, LoadCopiesIntoExistingStorage) {
  nn::BatchNorm2d bn(3);
  Tensor w = bn.weight();  // held across the load: must see the new values
  Tensor rm = bn.running_mean();
  const StateDict dict = shifted_copy(bn, kFloat32);
  const nn::LoadResult result = bn.load_state_dict(dict);
  EXPECT_TRUE(result.missing_keys.empty());
  EXPECT_TRUE(result.unexpected_keys.empty());
  EXPECT_EQ(values(w), (std::vector<double>{2, 2, 2}));
  EXPECT_EQ(values(bn.bias()), (std::vector<double>{2, 2, 2}));
  EXPECT_EQ(values(rm), (std::vector<double>{3, 3, 3}));
  EXPECT_EQ(values(bn.running_var()), (std::vector<double>{5, 5, 5}));
  EXPECT_EQ(bn.num_batches_tracked().item<int64_t>(), 5);
  EXPECT_TRUE(w.is_same(bn.weight()));
  EXPECT_TRUE(bn.weight().requires_grad());
  // The module copied: changing the dict afterwards does not reach it.
  Tensor source = dict.at("weight");
  source.fill_(-7.0);
  EXPECT_EQ(values(w), (std::vector<double>{2, 2, 2}));
}

TEST(Module, LoadCastsDtypes) {
  // A float64 checkpoint loads into a float32 module (PyTorch's param.copy_(input_param) casts).
  auto m = nested_model();
  auto bn = std::dynamic_pointer_cast<nn::BatchNorm2d>((*m)[0]);
  ASSERT_TRUE(bn);
  Tensor w = bn->weight();
  StateDict dict;
  for (const auto& [n, t] : m->state_dict()) {
    dict.insert(n, t.dtype() == kInt64 ? full({}, 3, kInt64) : full(t.sizes(), 0.125, kFloat64));
  }
  m->load_state_dict(dict);
  for (const auto& [n, t] : m->state_dict()) {
    EXPECT_EQ(t.dtype(), n == "0.num_batches_tracked" ? kInt64 : kFloat32) << n;
    for (double v : values(t)) EXPECT_EQ(v, n == "0.num_batches_tracked" ? 3 : 0.125) << n;
  }
  EXPECT_EQ(w.dtype(), kFloat32);
  EXPECT_EQ(values(w), (std::vector<double>{0.125, 0.125, 0.125}));
}

TEST(Module, StrictLoadReportsAllKeyProblemsInPyTorchWording) {
  nn::BatchNorm2d bn(3);
  const auto before = snapshot(bn);
  StateDict dict;
  for (const auto& [n, t] : bn.state_dict()) {
    if (n != "running_var") dict.insert(n, t.clone());
  }
  dict.insert("foo", zeros({1}));
  dict.insert("bar", zeros({1}));
  // bn.load_state_dict(sd) with running_var dropped and foo, bar added:
  EXPECT_EQ(error_of([&] { bn.load_state_dict(dict); }),
            "Error(s) in loading state_dict for BatchNorm2d:\n"
            "\tMissing key(s) in state_dict: \"running_var\". \n"
            "\tUnexpected key(s) in state_dict: \"foo\", \"bar\". ");
  test_util::expect_same_state(before, snapshot(bn));

  StateDict only_missing;
  for (const auto& [n, t] : bn.state_dict()) {
    if (n != "running_var" && n != "bias") only_missing.insert(n, t.clone());
  }
  EXPECT_EQ(error_of([&] { bn.load_state_dict(only_missing); }),
            "Error(s) in loading state_dict for BatchNorm2d:\n"
            "\tMissing key(s) in state_dict: \"bias\", \"running_var\". ");

  StateDict only_unexpected;
  for (const auto& [n, t] : bn.state_dict()) only_unexpected.insert(n, t.clone());
  only_unexpected.insert("foo", zeros({1}));
  EXPECT_EQ(error_of([&] { bn.load_state_dict(only_unexpected); }),
            "Error(s) in loading state_dict for BatchNorm2d:\n"
            "\tUnexpected key(s) in state_dict: \"foo\". ");
  test_util::expect_same_state(before, snapshot(bn));
}

TEST(Module, NonStrictLoadReturnsMissingAndUnexpected) {
  auto m = nested_model();
  StateDict dict;
  for (const auto& [n, t] : shifted_copy(*m, kFloat32)) {
    if (n != "1.0.bias") dict.insert(n, t);
  }
  dict.insert("extra", ones({1}));
  // m.load_state_dict(d, strict=False) -> missing_keys=['1.0.bias'], unexpected_keys=['extra']
  const nn::LoadResult result = m->load_state_dict(dict, /*strict=*/false);
  EXPECT_EQ(result.missing_keys, (Strings{"1.0.bias"}));
  EXPECT_EQ(result.unexpected_keys, (Strings{"extra"}));
  // Everything present was loaded; the missing entry kept its value.
  const StateDict sd = m->state_dict();
  EXPECT_EQ(values(sd.at("0.weight")), values(dict.at("0.weight")));
  EXPECT_EQ(values(sd.at("1.1.bias")), values(dict.at("1.1.bias")));
  for (double v : values(sd.at("1.0.bias"))) EXPECT_EQ(v, 0.0);
  // The same dict in strict mode: the nested names, in PyTorch's wording.
  EXPECT_EQ(error_of([&] { m->load_state_dict(dict); }),
            "Error(s) in loading state_dict for Sequential:\n"
            "\tMissing key(s) in state_dict: \"1.0.bias\". \n"
            "\tUnexpected key(s) in state_dict: \"extra\". ");
}

TEST(Module, SizeMismatchAlwaysThrowsAndChangesNothing) {
  nn::BatchNorm2d bn(3);
  bn(randn({4, 3, 2, 2}));  // non-default running stats and counter, so "unchanged" means something
  const auto before = snapshot(bn);
  // Every other entry is valid and new: none of them may be applied (PyTorch copies the valid
  // ones before raising; the issue asks for all or nothing).
  StateDict dict;
  for (const auto& [n, t] : shifted_copy(bn, kFloat32)) {
    dict.insert(n, n == "weight" ? ones({4}) : t);
  }
  const std::string expected =
      "Error(s) in loading state_dict for BatchNorm2d:\n"
      "\tsize mismatch for weight: copying a param with shape [4] from checkpoint, the shape in "
      "current model is [3].";
  EXPECT_EQ(error_of([&] { bn.load_state_dict(dict); }), expected);
  test_util::expect_same_state(before, snapshot(bn));
  EXPECT_EQ(error_of([&] { bn.load_state_dict(dict, /*strict=*/false); }), expected);
  test_util::expect_same_state(before, snapshot(bn));

  // A missing key together with a size mismatch: strict lists both (missing first); non-strict
  // only the mismatch.
  StateDict both;
  for (const auto& [n, t] : dict) {
    if (n != "bias") both.insert(n, t);
  }
  EXPECT_EQ(error_of([&] { bn.load_state_dict(both); }),
            "Error(s) in loading state_dict for BatchNorm2d:\n"
            "\tMissing key(s) in state_dict: \"bias\". \n"
            "\tsize mismatch for weight: copying a param with shape [4] from checkpoint, the shape "
            "in current model is [3].");
  EXPECT_EQ(error_of([&] { bn.load_state_dict(both, /*strict=*/false); }), expected);
  test_util::expect_same_state(before, snapshot(bn));
}

TEST(Module, NestedLoadErrorListsEverything) {
  auto m = nested_model();
  const auto before = snapshot(*m);
  StateDict dict;
  for (const auto& [n, t] : m->state_dict()) {
    if (n == "1.0.bias") continue;
    dict.insert(n, n == "0.running_var" ? ones({5}) : t.clone());
  }
  dict.insert("1.2.weight", ones({3}));
  // m.load_state_dict(d) with 1.0.bias dropped, 1.2.weight added, 0.running_var of size 5:
  EXPECT_EQ(error_of([&] { m->load_state_dict(dict); }),
            "Error(s) in loading state_dict for Sequential:\n"
            "\tMissing key(s) in state_dict: \"1.0.bias\". \n"
            "\tUnexpected key(s) in state_dict: \"1.2.weight\". \n"
            "\tsize mismatch for 0.running_var: copying a param with shape [5] from checkpoint, "
            "the shape in current model is [3].");
  test_util::expect_same_state(before, snapshot(*m));
}

TEST(Module, BatchNormDictWithoutCounterLoads) {
  // Checkpoints from PyTorch < 0.4.1 have no num_batches_tracked; PyTorch fills it in and reports
  // nothing missing, even in strict mode (the module is fresh, so the counter is 0 under both
  // 1.13's "reset to 0" and 2.x's "keep the current value").
  nn::BatchNorm2d bn(3);
  StateDict dict;
  for (const auto& [n, t] : shifted_copy(bn, kFloat32)) {
    if (n != "num_batches_tracked") dict.insert(n, t);
  }
  nn::LoadResult result;
  EXPECT_NO_THROW(result = bn.load_state_dict(dict));
  EXPECT_TRUE(result.missing_keys.empty());
  EXPECT_TRUE(result.unexpected_keys.empty());
  EXPECT_EQ(values(bn.running_var()), (std::vector<double>{5, 5, 5}));
  EXPECT_EQ(bn.num_batches_tracked().item<int64_t>(), 0);
  EXPECT_EQ(bn.num_batches_tracked().dtype(), kInt64);

  // Nested, non-strict: m.load_state_dict(d, strict=False) without 0.num_batches_tracked reports
  // no missing keys either.
  auto m = nested_model();
  StateDict nested;
  for (const auto& [n, t] : m->state_dict()) {
    if (n != "0.num_batches_tracked") nested.insert(n, t.clone());
  }
  result = m->load_state_dict(nested, /*strict=*/false);
  EXPECT_TRUE(result.missing_keys.empty());
  EXPECT_NO_THROW(m->load_state_dict(nested));
}

TEST(Module, ReprMatchesPyTorch) {
  // repr(x) in torch 1.13 for each of these constructions.
  EXPECT_EQ(repr_of(nn::BatchNorm1d(5)),
            "BatchNorm1d(5, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  EXPECT_EQ(repr_of(nn::BatchNorm2d(32)),
            "BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  EXPECT_EQ(repr_of(nn::BatchNorm2d(nn::BatchNormOptions(4).momentum(0.001))),
            "BatchNorm2d(4, eps=1e-05, momentum=0.001, affine=True, track_running_stats=True)");
  // nn.BatchNorm3d(4, eps=1e-3, momentum=None, affine=False, track_running_stats=False)
  // (momentum=None through a named std::optional: a temporary std::nullopt trips GCC 12's
  // -Wmaybe-uninitialized false positive inside the EMBER_ARG setter.)
  const std::optional<double> none;
  nn::BatchNormOptions no_momentum(4);
  no_momentum.eps(1e-3).momentum(none).affine(false).track_running_stats(false);
  EXPECT_EQ(repr_of(nn::BatchNorm3d(no_momentum)),
            "BatchNorm3d(4, eps=0.001, momentum=None, affine=False, track_running_stats=False)");
  EXPECT_EQ(repr_of(nn::LayerNorm(Shape{3, 28, 28})),
            "LayerNorm((3, 28, 28), eps=1e-05, elementwise_affine=True)");
  EXPECT_EQ(repr_of(nn::LayerNorm(Shape{10})),
            "LayerNorm((10,), eps=1e-05, elementwise_affine=True)");
  // nn.LayerNorm([4], eps=1e-6, elementwise_affine=False)
  EXPECT_EQ(repr_of(nn::LayerNorm(nn::LayerNormOptions({4}).eps(1e-6).elementwise_affine(false))),
            "LayerNorm((4,), eps=1e-06, elementwise_affine=False)");
  EXPECT_EQ(repr_of(nn::GroupNorm(2, 4)), "GroupNorm(2, 4, eps=1e-05, affine=True)");
  EXPECT_EQ(repr_of(nn::GroupNorm(nn::GroupNormOptions(8, 32).eps(1e-3).affine(false))),
            "GroupNorm(8, 32, eps=0.001, affine=False)");
  EXPECT_EQ(repr_of(nn::InstanceNorm1d(3)),
            "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)");
  EXPECT_EQ(repr_of(nn::InstanceNorm2d(3)),
            "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)");
  // nn.InstanceNorm3d(4, affine=True, track_running_stats=True, momentum=0.001)
  EXPECT_EQ(repr_of(nn::InstanceNorm3d(
                nn::InstanceNormOptions(4).affine(true).track_running_stats(true).momentum(0.001))),
            "InstanceNorm3d(4, eps=1e-05, momentum=0.001, affine=True, track_running_stats=True)");
  EXPECT_EQ(nn::repr(nn::GroupNorm(2, 4)), "GroupNorm(2, 4, eps=1e-05, affine=True)");
}

TEST(Module, ContainerReprNestsLikePyTorch) {
  // repr(nn.Sequential(nn.BatchNorm2d(3), nn.Sequential(nn.LayerNorm([3, 4, 4]),
  //                                                     nn.GroupNorm(1, 3))))
  EXPECT_EQ(repr_of(*nested_model()),
            "Sequential(\n"
            "  (0): BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, "
            "track_running_stats=True)\n"
            "  (1): Sequential(\n"
            "    (0): LayerNorm((3, 4, 4), eps=1e-05, elementwise_affine=True)\n"
            "    (1): GroupNorm(1, 3, eps=1e-05, affine=True)\n"
            "  )\n"
            ")");
  // repr(nn.ModuleList([nn.BatchNorm1d(2), nn.LayerNorm(3)]))
  nn::ModuleList list{std::make_shared<nn::BatchNorm1d>(2),
                      std::make_shared<nn::LayerNorm>(Shape{3})};
  EXPECT_EQ(repr_of(list),
            "ModuleList(\n"
            "  (0): BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, "
            "track_running_stats=True)\n"
            "  (1): LayerNorm((3,), eps=1e-05, elementwise_affine=True)\n"
            ")");
  // repr(nn.Sequential(nn.ModuleList([nn.InstanceNorm1d(2)]), nn.GroupNorm(2, 4)))
  auto inner_list = std::make_shared<nn::ModuleList>(
      std::initializer_list<std::shared_ptr<nn::Module>>{std::make_shared<nn::InstanceNorm1d>(2)});
  EXPECT_EQ(repr_of(*seq({inner_list, std::make_shared<nn::GroupNorm>(2, 4)})),
            "Sequential(\n"
            "  (0): ModuleList(\n"
            "    (0): InstanceNorm1d(2, eps=1e-05, momentum=0.1, affine=False, "
            "track_running_stats=False)\n"
            "  )\n"
            "  (1): GroupNorm(2, 4, eps=1e-05, affine=True)\n"
            ")");
  // repr(nn.Sequential())
  EXPECT_EQ(repr_of(nn::Sequential()), "Sequential()");
}

}  // namespace
}  // namespace ember
