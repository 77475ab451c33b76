// Losses: shape/target checks shared by cross_entropy and nll_loss (PyTorch's texts), the
// class-dim-last row layout the kernels use, reductions, one node per call; mse_loss; the modules.
#include "ember/nn/loss.h"

#include <atomic>

#include "ember/autograd/node.h"
#include "ember/runtime.h"
#include "layers/kernels/native/cross_entropy.h"
#include "layers/layer_checks.h"

namespace ember::nn {

namespace {

enum class Reduction { None, Mean, Sum };

Reduction parse_reduction(const std::string& reduction) {
  if (reduction == "mean") return Reduction::Mean;
  if (reduction == "sum") return Reduction::Sum;
  if (reduction == "none") return Reduction::None;
  throw Error(reduction + " is not a valid value for reduction");
}

// input [N, C, d...] (or [C]) and target [N, d...] (or []) as rows: x [M, C] with the class dim
// last, t [M]. Checks everything first; nothing is computed for a bad call.
struct ClassRows {
  Tensor x, t;
  Shape loss_shape;  // the shape of the "none" result: target's
};

ClassRows class_rows(const char* op, const Tensor& input, const Tensor& target,
                     const Tensor& weight, int64_t ignore_index) {
  detail::check_floating_input(input, op);
  EMBER_CHECK(target.defined() && target.dtype() == kInt64, op,
              ": expected target of dtype int64 (class indices), but got ",
              target.defined() ? dtype_name(target.dtype()) : "an undefined tensor");
  EMBER_CHECK(input.dim() >= 1, op,
              ": expected an input of at least 1 dim ([C] or [N, C, ...]), "
              "but got input of size ",
              shape_str(input.sizes()));
  const int64_t C = input.dim() == 1 ? input.size(0) : input.size(1);
  if (input.dim() == 1) {
    EMBER_CHECK(target.dim() == 0, op, ": an unbatched input of size ", shape_str(input.sizes()),
                " expects a 0-dim target, but got target of size ", shape_str(target.sizes()));
  } else {
    const int64_t tn = target.dim() == 0 ? 1 : target.size(0);
    EMBER_CHECK(target.dim() >= 1 && tn == input.size(0), "Expected input batch_size (",
                input.size(0), ") to match target batch_size (", tn, ").");
    Shape expected = {input.size(0)};
    expected.insert(expected.end(), input.sizes().begin() + 2, input.sizes().end());
    EMBER_CHECK(target.sizes() == expected, "Expected target size ", shape_str(expected), ", got ",
                shape_str(target.sizes()));
  }
  EMBER_CHECK(!weight.defined() || (weight.dim() == 1 && weight.size(0) == C),
              "weight tensor should be defined either for all ", C,
              " classes or no classes but got weight tensor of shape: ", shape_str(weight.sizes()));
  detail::check_same_type(input, weight, "weight");

  ClassRows r;
  r.loss_shape = target.sizes();
  r.t = target.contiguous().reshape({target.numel()});
  for (int64_t v : r.t.to_vector<int64_t>())
    EMBER_CHECK(v == ignore_index || (v >= 0 && v < C), "Target ", v,
                " is out of bounds (expected a class index in [0, ", C,
                ") or ignore_index=", ignore_index, ").");
  Tensor x = input.detach();
  if (x.dim() == 1) x = x.unsqueeze(0);
  if (x.dim() > 2) {  // [N, C, d...] → [N, d..., C]: each position's classes contiguous
    Shape perm = {0};
    for (int64_t d = 2; d < x.dim(); ++d) perm.push_back(d);
    perm.push_back(1);
    x = x.permute(perm);
  }
  r.x = x.contiguous().reshape({x.numel() / std::max<int64_t>(C, 1), C});
  return r;
}

// dx [M, C] back to the input's layout.
Tensor rows_to_input(const Tensor& dx, const Shape& input_shape) {
  if (input_shape.size() <= 2) return dx.view(input_shape);
  Shape moved = {input_shape[0]};
  moved.insert(moved.end(), input_shape.begin() + 2, input_shape.end());
  moved.push_back(input_shape[1]);
  Shape perm = {0, static_cast<int64_t>(input_shape.size()) - 1};
  for (int64_t d = 1; d + 1 < static_cast<int64_t>(input_shape.size()); ++d) perm.push_back(d);
  return dx.view(moved).permute(perm).contiguous();
}

// A class loss's result for the reduction: per-row losses in the target's shape, or their sum,
// or their sum over the summed weights of the rows not ignored.
Tensor reduce_rows(const kernels::native::ClassLossForward& f, Reduction reduction,
                   const Shape& loss_shape, DType dtype) {
  switch (reduction) {
    case Reduction::None:
      return f.losses.view(loss_shape);
    case Reduction::Sum:
      return scalar_tensor(f.total, dtype);
    case Reduction::Mean:
      break;
  }
  return scalar_tensor(f.total / f.total_weight, dtype);  // 0/0 = nan when all are ignored
}

// The gradient reaching each row's loss (the mean's division folded in), for the backward kernels.
Tensor row_coefficients(const Tensor& g, Reduction reduction, int64_t M, double total_weight) {
  if (reduction == Reduction::None) return g.contiguous().reshape({M}).to(kFloat64);
  const double scale = reduction == Reduction::Mean ? 1.0 / total_weight : 1.0;
  return full({M}, g.item<double>() * scale, kFloat64);
}

}  // namespace

namespace functional {

Tensor cross_entropy(const Tensor& input, const Tensor& target,
                     const CrossEntropyLossOptions& options) {
  return cross_entropy(input, target, options.weight(), options.ignore_index(), options.reduction(),
                       options.label_smoothing());
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                     int64_t ignore_index, const std::string& reduction, double label_smoothing) {
  const Reduction red = parse_reduction(reduction);
  EMBER_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
              "label_smoothing must be between 0.0 and 1.0. Got: ", label_smoothing);
  const ClassRows r = class_rows("cross_entropy", input, target, weight, ignore_index);
  const Tensor w = weight.defined() ? weight.detach() : Tensor();
  const auto f = kernels::native::cross_entropy_forward(r.x, r.t, w, ignore_index, label_smoothing);
  Tensor y = reduce_rows(f, red, r.loss_shape, input.dtype());
  const Shape input_shape = input.sizes();
  const Tensor lse = f.lse;
  const double total_weight = f.total_weight;
  // The rows alias input and target when those were contiguous: in-place changes must be caught.
  const autograd::SavedTensor saved_x(r.x), saved_t(r.t);
  return autograd::record_function("CrossEntropyBackward0", {input}, y, [=](const Tensor& g) {
    const Tensor x = saved_x.unpack("CrossEntropyBackward0");
    const Tensor t = saved_t.unpack("CrossEntropyBackward0");
    const Tensor coef = row_coefficients(g, red, x.size(0), total_weight);
    const Tensor dx =
        kernels::native::cross_entropy_backward(x, t, w, lse, ignore_index, label_smoothing, coef);
    return std::vector<Tensor>{rows_to_input(dx, input_shape)};
  });
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options) {
  return nll_loss(input, target, options.weight(), options.ignore_index(), options.reduction());
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight,
                int64_t ignore_index, const std::string& reduction) {
  const Reduction red = parse_reduction(reduction);
  const ClassRows r = class_rows("nll_loss", input, target, weight, ignore_index);
  const Tensor w = weight.defined() ? weight.detach() : Tensor();
  const auto f = kernels::native::nll_loss_forward(r.x, r.t, w, ignore_index);
  Tensor y = reduce_rows(f, red, r.loss_shape, input.dtype());
  const Shape input_shape = input.sizes(), rows_shape = r.x.sizes();
  const autograd::SavedTensor saved_t(r.t);
  const double total_weight = f.total_weight;
  const DType dtype = input.dtype();
  return autograd::record_function("NllLossBackward0", {input}, y, [=](const Tensor& g) {
    const Tensor t = saved_t.unpack("NllLossBackward0");
    const Tensor coef = row_coefficients(g, red, rows_shape[0], total_weight);
    const Tensor dx =
        kernels::native::nll_loss_backward(rows_shape, dtype, t, w, ignore_index, coef);
    return std::vector<Tensor>{rows_to_input(dx, input_shape)};
  });
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  const Reduction red = parse_reduction(reduction);
  detail::check_floating_input(input, "mse_loss");
  EMBER_CHECK(target.defined() && target.dtype() == input.dtype(),
              "mse_loss: expected input and target to have the same dtype, but got ", input.dtype(),
              " and ", target.defined() ? dtype_name(target.dtype()) : "an undefined tensor");
  const Shape shape = broadcast_shapes(input.sizes(), target.sizes());
  // Once per process, like Python's default warning filter (a training loop would flood the log).
  static std::atomic<bool> warned{false};
  if (input.sizes() != target.sizes() && !warned.exchange(true))
    log_warn("Using a target size (" + shape_str(target.sizes()) +
             ") that is different to the input size (" + shape_str(input.sizes()) +
             "). This will likely lead to incorrect results due to broadcasting. Please ensure "
             "they have the same size.");
  const Tensor diff = input.detach().expand(shape) - target.detach().expand(shape);
  const Tensor sq = diff * diff;
  Tensor y = red == Reduction::None ? sq : red == Reduction::Sum ? sq.sum() : sq.mean();
  const Shape in_shape = input.sizes(), t_shape = target.sizes();
  const bool need_t = target.requires_grad();
  const double n = static_cast<double>(sq.numel());
  return autograd::record_function("MseLossBackward0", {input, target}, y, [=](const Tensor& g) {
    // d/dinput = 2·(input − target)·g (÷ n for the mean); the target gets the negation.
    const double k = red == Reduction::Mean ? 2.0 / n : 2.0;
    const Tensor d = diff * g * k;
    return std::vector<Tensor>{autograd::sum_to(d, in_shape),
                               need_t ? autograd::sum_to(-d, t_shape) : Tensor()};
  });
}

}  // namespace functional

CrossEntropyLoss::CrossEntropyLoss(CrossEntropyLossOptions options) : options_(std::move(options)) {
  parse_reduction(options_.reduction());
  EMBER_CHECK(options_.label_smoothing() >= 0.0 && options_.label_smoothing() <= 1.0,
              "label_smoothing must be between 0.0 and 1.0. Got: ", options_.label_smoothing());
  // PyTorch keeps the class weights as a buffer (saved in the state dict, converted by to()).
  weight_ = register_buffer("weight", options_.weight());
}

Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) {
  const auto& o = options_;
  return functional::cross_entropy(input, target, weight_, o.ignore_index(), o.reduction(),
                                   o.label_smoothing());
}

NLLLoss::NLLLoss(NLLLossOptions options) : options_(std::move(options)) {
  parse_reduction(options_.reduction());
  weight_ = register_buffer("weight", options_.weight());
}

Tensor NLLLoss::forward(const Tensor& input, const Tensor& target) {
  const auto& o = options_;
  return functional::nll_loss(input, target, weight_, o.ignore_index(), o.reduction());
}

MSELoss::MSELoss(MSELossOptions options) : options_(std::move(options)) {
  parse_reduction(options_.reduction());
}

Tensor MSELoss::forward(const Tensor& input, const Tensor& target) {
  return functional::mse_loss(input, target, options_.reduction());
}

}  // namespace ember::nn
