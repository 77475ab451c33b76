// oneDNN batch norm (float32): forward_training for y and the batch statistics, and the full
// backward (dx, dγ, dβ) in one primitive. Tensors are handed to oneDNN in place; the memory
// format tag tells it how x is laid out. Inputs whose float32 statistics oneDNN cannot get right
// (far from zero compared with their spread) are redone by the native kernel.
#include <omp.h>

#include <cmath>
#include <optional>

#include "layers/kernels/dnnl/dnnl_norm.h"
#include "layers/kernels/dnnl/engine.h"

namespace ember::nn::kernels::dnnl {

namespace {

using onednn::memory;

struct Layout {
  memory::dims dims;
  memory::format_tag tag;
  MemoryFormat format;  // the ember memory format dy must be brought to
};

// x's layout in oneDNN's terms, or nothing when oneDNN cannot read it in place.
std::optional<Layout> layout_of(const Tensor& x) {
  if (x.dtype() != kFloat32 || x.dim() < 2 || x.dim() > 5 || x.numel() == 0) return std::nullopt;
  memory::dims dims(x.sizes().begin(), x.sizes().end());
  int64_t spatial = 1;
  for (int64_t d = 2; d < x.dim(); ++d) spatial *= x.size(d);
  if (x.is_contiguous()) {
    // Without spatial extent, [N, C] rows are also (N, C, 1, 1) channels-last — the same bytes —
    // and oneDNN gives nhwc its JIT kernel but nc / nchw its slow generic one.
    if (spatial == 1)
      return Layout{
          {x.size(0), x.size(1), 1, 1}, memory::format_tag::nhwc, MemoryFormat::Contiguous};
    switch (x.dim()) {
      case 3:
        // (N, C, L, 1) as nchw: oneDNN's ncw batch norm silently takes the slow reference kernel.
        dims.push_back(1);
        return Layout{dims, memory::format_tag::nchw, MemoryFormat::Contiguous};
      case 4:
        return Layout{dims, memory::format_tag::nchw, MemoryFormat::Contiguous};
      default:
        return Layout{dims, memory::format_tag::ncdhw, MemoryFormat::Contiguous};
    }
  }
  if (x.is_contiguous(MemoryFormat::ChannelsLast))
    return Layout{dims, memory::format_tag::nhwc, MemoryFormat::ChannelsLast};
  return std::nullopt;
}

Layout checked_layout(const Tensor& x, const char* op) {
  auto layout = layout_of(x);
  EMBER_CHECK(layout, op, ": oneDNN cannot run this input (float32, 2-5 dims, contiguous or ",
              "channels-last expected)");
  return *layout;
}

void check_channels(const Tensor& t, int64_t C, const char* what) {
  if (!t.defined()) return;
  EMBER_CHECK(t.dtype() == kFloat32 && t.numel() == C, "batch_norm: expected ", what,
              " of float32 with ", C, " elements");
}

// γ or β as oneDNN reads them; ones / zeros stand in for a missing one that a flag requires.
Tensor channel_param(const Tensor& t, int64_t C, double fallback) {
  return t.defined() ? t.contiguous() : full({C}, fallback, kFloat32);
}

onednn::batch_normalization_forward::primitive_desc forward_pd(const memory::desc& md, double eps,
                                                               Flags flags) {
  const onednn::batch_normalization_forward::desc desc(onednn::prop_kind::forward_training, md,
                                                       static_cast<float>(eps), flags);
  return {desc, primitive_attr(), cpu_engine()};
}

PrimitiveKey key_for(PrimitiveKey::Kind kind, const Layout& l, Flags flags, double eps) {
  return {kind, l.dims, l.tag, static_cast<unsigned>(flags), eps, omp_get_max_threads()};
}

}  // namespace

bool supports_batch_norm(const Tensor& x) { return layout_of(x).has_value(); }

// Measured at 2 threads (AVX-512), fwd+bwd, native vs oneDNN, ms (min over repetitions on a shared
// 2-core VM; runs spread by ±30%) — DNNL_VERBOSE names the kernel:
//   nhwc, C % 8 == 0 (JIT bnorm_jit / bnorm_tbb_jit): [32,64,56,56] 8.2 vs 3.2;
//     [32,24,56,56] 3.51 vs 1.29; [32,128,28,28] 3.05 vs 1.32; [32,256,7,7] 0.21 vs 0.15;
//     [N,C] as (N,C,1,1): [4096,256] 0.48 vs 0.36; [8,16,16,16] 0.038 vs 0.022 —
//     but at 16K elements or fewer the OpenMP region and call cost more than they save:
//     [8,32,8,8] 0.013 vs 0.016, [256,64] 0.013 vs 0.018;
//   nhwc, C % 8 != 0 (generic nspc_bnorm): [32,10,56,56] 3.1 vs 7.4, [4096,10] 0.09 vs 0.28;
//   nchw / ncdhw / (N,C,L,1) (generic ncsp_bnorm): [32,64,56,56] 5.5 vs 14.5;
//     [32,256,7,7] 0.19 vs 0.71; [32,64,1024] 0.80 vs 4.75; [8,32,16,16,16] 0.23 vs 1.98.
bool prefers_batch_norm(const Tensor& x) {
  const auto layout = layout_of(x);
  return layout && layout->tag == memory::format_tag::nhwc && x.size(1) % 8 == 0 &&
         x.numel() >= 32768;
}

BatchNormForward batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  double eps) {
  const Layout layout = checked_layout(x, "batch_norm");
  const int64_t C = x.size(1);
  check_channels(weight, C, "weight");
  check_channels(bias, C, "bias");
  Flags flags = Flags::none;
  if (weight.defined()) flags |= Flags::use_scale;
  if (bias.defined()) flags |= Flags::use_shift;
  const memory::desc md(layout.dims, memory::data_type::f32, layout.tag);
  const auto prim =
      cached_primitive(key_for(PrimitiveKey::Kind::BatchNormForward, layout, flags, eps), [&] {
        return make_primitive<onednn::batch_normalization_forward>(forward_pd(md, eps, flags));
      });

  BatchNormForward out;
  out.y = empty_like(x);  // x's memory format, so it matches md
  // Fresh buffers: oneDNN writes the batch statistics here, never into running stats.
  out.mean = empty({C}, kFloat32);
  out.var = empty({C}, kFloat32);
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, wrap(md, x)},
                                          {DNNL_ARG_DST, wrap(md, out.y)},
                                          {DNNL_ARG_MEAN, wrap(vector_desc(C), out.mean)},
                                          {DNNL_ARG_VARIANCE, wrap(vector_desc(C), out.var)}};
  Tensor scale, shift;  // kept alive until execute returns
  if (has_flag(flags, Flags::use_scale)) {
    scale = weight.contiguous();
    args.emplace(DNNL_ARG_SCALE, wrap(vector_desc(C), scale));
  }
  if (has_flag(flags, Flags::use_shift)) {
    shift = bias.contiguous();
    args.emplace(DNNL_ARG_SHIFT, wrap(vector_desc(C), shift));
  }
  execute(prim, args);
  out.rstd = rstd_from_var(out.var, eps);
  // oneDNN sums each channel in float32, one element after another: its mean's relative error
  // was measured at ≈ 3e-8·sqrt(count) (1e-5 for [32,64,56,56]); bound it by 1e-7·sqrt(count).
  const double count = static_cast<double>(x.numel() / C);
  if (statistics_at_risk(out.mean, out.rstd, 1e-7 * std::sqrt(count)))
    return native::batch_norm_train(x, weight, bias, eps);
  return out;
}

NormGrads batch_norm_backward(const Tensor& dy_in, const Tensor& x, const Tensor& weight,
                              const Tensor& mean, const Tensor& rstd, bool training,
                              NeedGrads needs, double eps) {
  // With constant (running) statistics dx is one multiply-add pass, bandwidth-bound: the native
  // kernel is as fast, and oneDNN would need a second (global-stats) primitive family for it.
  if (!training)
    return native::batch_norm_backward(dy_in, x, weight, mean, rstd, training, needs, eps);
  const Layout layout = checked_layout(x, "batch_norm_backward");
  EMBER_CHECK(dy_in.sizes() == x.sizes() && dy_in.dtype() == kFloat32,
              "batch_norm_backward: grad_output must match the input's shape and dtype");
  const int64_t C = x.size(1);
  check_channels(weight, C, "weight");
  check_channels(mean, C, "mean");
  check_channels(rstd, C, "rstd");
  if (!needs[0] && !needs[1] && !needs[2]) return {};
  // oneDNN reads dy with x's descriptor.
  const Tensor dy = dy_in.contiguous(layout.format);

  // γ enters dx, so it is passed whenever given (ones stand in when only dγ is wanted); β does
  // not, so use_shift is set only to get dβ.
  Flags flags = Flags::none;
  if (weight.defined() || needs[1]) flags |= Flags::use_scale;
  if (needs[2]) flags |= Flags::use_shift;
  const memory::desc md(layout.dims, memory::data_type::f32, layout.tag);
  const auto prim =
      cached_primitive(key_for(PrimitiveKey::Kind::BatchNormBackward, layout, flags, eps), [&] {
        // backward_data is unimplemented with scale/shift, so always the full backward; its
        // flags must equal the forward hint's.
        const onednn::batch_normalization_backward::desc desc(onednn::prop_kind::backward, md, md,
                                                              static_cast<float>(eps), flags);
        return make_primitive<onednn::batch_normalization_backward>(
            onednn::batch_normalization_backward::primitive_desc(
                desc, primitive_attr(), cpu_engine(), forward_pd(md, eps, flags)));
      });

  const Tensor mean_c = mean.contiguous();
  const Tensor var = var_from_rstd(rstd, eps);
  const Tensor dx = empty_like(x);
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, wrap(md, x)},
                                          {DNNL_ARG_DIFF_DST, wrap(md, dy)},
                                          {DNNL_ARG_DIFF_SRC, wrap(md, dx)},
                                          {DNNL_ARG_MEAN, wrap(vector_desc(C), mean_c)},
                                          {DNNL_ARG_VARIANCE, wrap(vector_desc(C), var)}};
  Tensor scale, shift, dscale, dshift;
  if (has_flag(flags, Flags::use_scale)) {
    scale = channel_param(weight, C, 1.0);
    dscale = empty({C}, kFloat32);
    args.emplace(DNNL_ARG_SCALE, wrap(vector_desc(C), scale));
    args.emplace(DNNL_ARG_DIFF_SCALE, wrap(vector_desc(C), dscale));
  }
  if (has_flag(flags, Flags::use_shift)) {
    // Required at execute although backward never reads it.
    shift = full({C}, 0.0, kFloat32);
    dshift = empty({C}, kFloat32);
    args.emplace(DNNL_ARG_SHIFT, wrap(vector_desc(C), shift));
    args.emplace(DNNL_ARG_DIFF_SHIFT, wrap(vector_desc(C), dshift));
  }
  execute(prim, args);

  NormGrads out;
  if (needs[0]) out.dx = dx;
  if (needs[1]) out.dweight = dscale;
  if (needs[2]) out.dbias = dshift;
  return out;
}

}  // namespace ember::nn::kernels::dnnl
