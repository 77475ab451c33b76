// oneDNN direct convolution (float32): forward, backward-data and backward-weights primitives,
// each left to choose its own operand layouts (format_tag::any). oneDNN then picks its JIT
// kernels on channel-blocked layouts (nChw16c, OIhw16i16o); ember's NCHW tensors are reordered
// into those and back around each call. The reorders are memory passes over tensors that the
// convolution itself reads nine times over, so they cost little next to what the JIT saves.
#include <omp.h>

#include <algorithm>

#include "layers/kernels/dnnl/dnnl_conv.h"
#include "layers/kernels/dnnl/engine.h"

namespace ember::nn::kernels::dnnl {

namespace {

using native::Conv2dGeometry;
using onednn::memory;
using Kind = PrimitiveKey::Kind;

// The bottom/right padding that makes oneDNN's output size ours:
// out = (in + before + after − ((k − 1)·d + 1)) / s + 1 (rounding down), the smallest such
// `after` ≥ 0. When the last window ends short of the input (stride > 1) the exact value would be
// negative; 0 then gives the same quotient, and oneDNN rejects negative padding.
int64_t padding_after(int64_t out, int64_t in, int64_t k, int64_t s, int64_t d, int64_t before) {
  return std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in - before);
}

struct ConvShape {
  memory::dims src, weights, bias, dst;
  memory::dims strides, dilates, pad_before, pad_after;
  memory::format_tag weights_tag;
};

ConvShape conv_shape(const Conv2dGeometry& g) {
  ConvShape s;
  s.src = {g.N, g.C, g.H, g.W};
  s.dst = {g.N, g.O, g.OH, g.OW};
  s.bias = {g.O};
  if (g.groups == 1) {
    s.weights = {g.O, g.C, g.kh, g.kw};
    s.weights_tag = memory::format_tag::oihw;
  } else {  // oneDNN spells groups as a leading weight dimension; the bytes are the same
    s.weights = {g.groups, g.Og(), g.Cg(), g.kh, g.kw};
    s.weights_tag = memory::format_tag::goihw;
  }
  s.strides = {g.sh, g.sw};
  s.dilates = {g.dh - 1, g.dw - 1};  // oneDNN counts the gaps: 0 is a dense kernel
  s.pad_before = {g.ph, g.pw};
  s.pad_after = {padding_after(g.OH, g.H, g.kh, g.sh, g.dh, g.ph),
                 padding_after(g.OW, g.W, g.kw, g.sw, g.dw, g.pw)};
  return s;
}

memory::desc any(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::any);
}
memory::desc plain(const memory::dims& dims, memory::format_tag tag) {
  return memory::desc(dims, memory::data_type::f32, tag);
}

onednn::convolution_forward::primitive_desc forward_pd(const ConvShape& s, bool bias) {
  using Desc = onednn::convolution_forward::desc;
  const auto prop = onednn::prop_kind::forward_training;
  const auto algo = onednn::algorithm::convolution_direct;
  const Desc desc =
      bias ? Desc(prop, algo, any(s.src), any(s.weights), plain(s.bias, memory::format_tag::x),
                  any(s.dst), s.strides, s.dilates, s.pad_before, s.pad_after)
           : Desc(prop, algo, any(s.src), any(s.weights), any(s.dst), s.strides, s.dilates,
                  s.pad_before, s.pad_after);
  return {desc, primitive_attr(), cpu_engine()};
}

// Every geometry value, and whether there is a bias: what a primitive was created for.
PrimitiveKey key_for(Kind kind, const Conv2dGeometry& g, bool bias, int64_t operand = -1) {
  return {kind,
          {g.N, g.C, g.H, g.W, g.O, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups, g.OH,
           g.OW, bias, operand},
          memory::format_tag::nchw,
          0,
          0.0,
          omp_get_max_threads()};
}

// Which operand of which primitive a reorder serves (part of its cache key).
enum Operand : int64_t {
  kForwardSrc,
  kForwardWeights,
  kForwardDst,
  kDataDiffDst,
  kDataWeights,
  kDataDiffSrc,
  kWeightsSrc,
  kWeightsDiffDst,
  kWeightsDiffWeights
};

void reorder(const Conv2dGeometry& g, Operand operand, const memory& from, const memory& to) {
  const auto prim = cached_primitive(key_for(Kind::ConvReorder, g, false, operand), [&] {
    return make_primitive<onednn::reorder>(onednn::reorder::primitive_desc(
        cpu_engine(), from.get_desc(), cpu_engine(), to.get_desc(), primitive_attr()));
  });
  execute(prim, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
}

// A float32 buffer for a tensor in a oneDNN-chosen layout (which may pad channels to a block).
Tensor buffer_for(const memory::desc& desc) {
  return empty({static_cast<int64_t>(desc.get_size() / sizeof(float))}, kFloat32);
}

// The input `t` (laid out as `have`) as the primitive wants it: t itself when the layouts agree,
// else a reordered copy held by `keep` until the primitive has run.
memory input_as(const Conv2dGeometry& g, Operand operand, const memory::desc& want,
                const memory::desc& have, const Tensor& t, Tensor& keep) {
  if (want == have) return wrap(have, t);
  keep = buffer_for(want);
  const memory staged = wrap(want, keep);
  reorder(g, operand, wrap(have, t), staged);
  return staged;
}

// Where the primitive writes an output that must end up in `t` (laid out as `have`): t itself, or
// a staging buffer that finish_output reorders into t.
struct Output {
  memory written;
  Tensor staging;
};
Output output_as(const memory::desc& chosen, const memory::desc& have, const Tensor& t) {
  if (chosen == have) return {wrap(have, t), Tensor()};
  Tensor staging = buffer_for(chosen);
  return {wrap(chosen, staging), staging};
}
void finish_output(const Conv2dGeometry& g, Operand operand, const Output& out,
                   const memory::desc& have, const Tensor& t) {
  if (out.staging.defined()) reorder(g, operand, out.written, wrap(have, t));
}

}  // namespace

bool supports_conv2d(const Tensor& x, const Conv2dGeometry& g) {
  return x.dtype() == kFloat32 && g.N > 0 && g.C > 0 && g.O > 0 && g.OH > 0 && g.OW > 0;
}

// Measured on the examples' shapes at 1 thread, fwd + both backward passes, batch 64, ms (native
// im2col + sgemm vs oneDNN incl. reorders; DNNL_VERBOSE: jit:avx512_core on blocked layouts):
//   16→32 on 14×14: 8.0 vs 4.8; 32→64 on 14×14: 20.7 vs 12.6 —
//   but one input channel is padded to a block of 16: 1→32 on 28×28: 4.8 vs 17.5.
bool prefers_conv2d(const Tensor& x, const Conv2dGeometry& g) {
  return g.Cg() >= 8 && supports_conv2d(x, g);
}

Tensor conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                      const Conv2dGeometry& g) {
  EMBER_CHECK(supports_conv2d(x, g), "conv2d: oneDNN cannot run this convolution");
  const ConvShape s = conv_shape(g);
  const bool has_bias = bias.defined();
  const auto prim = cached_primitive(key_for(Kind::ConvForward, g, has_bias), [&] {
    const auto pd = forward_pd(s, has_bias);
    Primitive p = make_primitive<onednn::convolution_forward>(pd);
    p.operands = {pd.src_desc(), pd.weights_desc(), pd.dst_desc()};
    return p;
  });
  const memory::desc src_plain = plain(s.src, memory::format_tag::nchw),
                     weights_plain = plain(s.weights, s.weights_tag),
                     dst_plain = plain(s.dst, memory::format_tag::nchw);
  Tensor y = empty({g.N, g.O, g.OH, g.OW}, kFloat32);
  Tensor src_copy, weights_copy;
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, input_as(g, kForwardSrc, prim.operands[0], src_plain, x, src_copy)},
      {DNNL_ARG_WEIGHTS,
       input_as(g, kForwardWeights, prim.operands[1], weights_plain, weight, weights_copy)}};
  const Output dst = output_as(prim.operands[2], dst_plain, y);
  args.emplace(DNNL_ARG_DST, dst.written);
  if (has_bias) args.emplace(DNNL_ARG_BIAS, wrap(plain(s.bias, memory::format_tag::x), bias));
  execute(prim, args);
  finish_output(g, kForwardDst, dst, dst_plain, y);
  return y;
}

native::Conv2dGrads conv2d_backward(const Tensor& dy_in, const Tensor& x, const Tensor& weight,
                                    const Conv2dGeometry& g, bool need_x, bool need_weight,
                                    bool need_bias) {
  EMBER_CHECK(supports_conv2d(dy_in, g), "conv2d: oneDNN cannot run this convolution");
  const ConvShape s = conv_shape(g);
  const Tensor dy = dy_in.contiguous();
  const memory::desc src_plain = plain(s.src, memory::format_tag::nchw),
                     weights_plain = plain(s.weights, s.weights_tag),
                     dst_plain = plain(s.dst, memory::format_tag::nchw);
  native::Conv2dGrads grads;
  if (need_x) {
    const auto prim = cached_primitive(key_for(Kind::ConvBackwardData, g, false), [&] {
      const onednn::convolution_backward_data::desc desc(
          onednn::algorithm::convolution_direct, any(s.src), any(s.weights), any(s.dst), s.strides,
          s.dilates, s.pad_before, s.pad_after);
      const onednn::convolution_backward_data::primitive_desc pd(
          desc, primitive_attr(), cpu_engine(), forward_pd(s, false));
      Primitive p = make_primitive<onednn::convolution_backward_data>(pd);
      p.operands = {pd.diff_dst_desc(), pd.weights_desc(), pd.diff_src_desc()};
      return p;
    });
    grads.dx = empty({g.N, g.C, g.H, g.W}, kFloat32);
    Tensor dy_copy, weights_copy;
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_DIFF_DST, input_as(g, kDataDiffDst, prim.operands[0], dst_plain, dy, dy_copy)},
        {DNNL_ARG_WEIGHTS,
         input_as(g, kDataWeights, prim.operands[1], weights_plain, weight, weights_copy)}};
    const Output dx = output_as(prim.operands[2], src_plain, grads.dx);
    args.emplace(DNNL_ARG_DIFF_SRC, dx.written);
    execute(prim, args);
    finish_output(g, kDataDiffSrc, dx, src_plain, grads.dx);
  }
  if (need_weight) {
    const auto prim = cached_primitive(key_for(Kind::ConvBackwardWeights, g, need_bias), [&] {
      using Desc = onednn::convolution_backward_weights::desc;
      const auto algo = onednn::algorithm::convolution_direct;
      const Desc desc =
          need_bias ? Desc(algo, any(s.src), any(s.weights), plain(s.bias, memory::format_tag::x),
                           any(s.dst), s.strides, s.dilates, s.pad_before, s.pad_after)
                    : Desc(algo, any(s.src), any(s.weights), any(s.dst), s.strides, s.dilates,
                           s.pad_before, s.pad_after);
      const onednn::convolution_backward_weights::primitive_desc pd(
          desc, primitive_attr(), cpu_engine(), forward_pd(s, need_bias));
      Primitive p = make_primitive<onednn::convolution_backward_weights>(pd);
      p.operands = {pd.src_desc(), pd.diff_dst_desc(), pd.diff_weights_desc()};
      return p;
    });
    grads.dweight = empty({g.O, g.Cg(), g.kh, g.kw}, kFloat32);
    Tensor src_copy, dy_copy;
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, input_as(g, kWeightsSrc, prim.operands[0], src_plain, x, src_copy)},
        {DNNL_ARG_DIFF_DST,
         input_as(g, kWeightsDiffDst, prim.operands[1], dst_plain, dy, dy_copy)}};
    const Output dw = output_as(prim.operands[2], weights_plain, grads.dweight);
    args.emplace(DNNL_ARG_DIFF_WEIGHTS, dw.written);
    if (need_bias) {
      grads.dbias = empty({g.O}, kFloat32);
      args.emplace(DNNL_ARG_DIFF_BIAS, wrap(plain(s.bias, memory::format_tag::x), grads.dbias));
    }
    execute(prim, args);
    finish_output(g, kWeightsDiffWeights, dw, weights_plain, grads.dweight);
  } else if (need_bias) {  // the bias alone: a per-channel sum of dy, no primitive needed
    grads.dbias = native::conv2d_backward(dy, x, weight, g, false, false, true).dbias;
  }
  return grads;
}

}  // namespace ember::nn::kernels::dnnl
