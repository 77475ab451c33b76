// The shared oneDNN state: one CPU engine, a stream per thread, and the primitive cache.
#include "layers/kernels/dnnl/engine.h"

#include <cmath>
#include <map>
#include <mutex>

#include "layers/kernels/dnnl/dnnl_norm.h"

namespace ember::nn::kernels::dnnl {

namespace {

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}
std::map<PrimitiveKey, onednn::primitive>& cache() {
  static std::map<PrimitiveKey, onednn::primitive> primitives;
  return primitives;
}

// A CPU stream holds no per-execution state worth sharing, and oneDNN does not promise that one
// stream object may be driven from several threads at once: one per thread costs nothing.
onednn::stream& cpu_stream() {
  thread_local onednn::stream stream(cpu_engine());
  return stream;
}

}  // namespace

onednn::engine& cpu_engine() {
  static onednn::engine engine(onednn::engine::kind::cpu, 0);
  return engine;
}

onednn::primitive cached_primitive(PrimitiveKey key,
                                   const std::function<onednn::primitive()>& make) {
  std::lock_guard<std::mutex> lock(cache_mutex());
  auto it = cache().find(key);
  if (it != cache().end()) return it->second;
  // Creation happens under the lock: it is rare (once per shape), and two threads racing on the
  // same new shape would otherwise both pay for it.
  try {
    return cache().emplace(std::move(key), make()).first->second;
  } catch (const onednn::error& e) {
    throw Error(detail::concat("oneDNN could not create a primitive: ", e.what()));
  }
}

size_t primitive_cache_size() {
  std::lock_guard<std::mutex> lock(cache_mutex());
  return cache().size();
}

onednn::memory wrap(const onednn::memory::desc& desc, const Tensor& t) {
  // oneDNN's memory handle is untyped and non-const; inputs are only read through it.
  return onednn::memory(desc, cpu_engine(), const_cast<float*>(t.data_ptr<float>()));
}

void execute(const onednn::primitive& p, const std::unordered_map<int, onednn::memory>& args) {
  try {
    onednn::stream& stream = cpu_stream();
    p.execute(stream, args);
    stream.wait();
  } catch (const onednn::error& e) {
    throw Error(detail::concat("oneDNN primitive failed: ", e.what()));
  }
}

onednn::memory::desc vector_desc(int64_t n) {
  return onednn::memory::desc({n}, onednn::memory::data_type::f32, onednn::memory::format_tag::a);
}

Tensor rstd_from_var(const Tensor& var, double eps) {
  Tensor rstd = empty(var.sizes(), kFloat32);
  const float* v = var.data_ptr<float>();
  float* r = rstd.data_ptr<float>();
  const int64_t n = var.numel();
  for (int64_t i = 0; i < n; ++i) r[i] = static_cast<float>(1.0 / std::sqrt(v[i] + eps));
  return rstd;
}

Tensor var_from_rstd(const Tensor& rstd_in, double eps) {
  const Tensor rstd = rstd_in.contiguous();
  Tensor var = empty(rstd.sizes(), kFloat32);
  const float* r = rstd.data_ptr<float>();
  float* v = var.data_ptr<float>();
  const int64_t n = rstd.numel();
  // Not clamped at 0: when var ≪ eps rounding may make it a hair negative, yet var + eps — all
  // oneDNN uses — still reproduces 1/rstd² to float precision.
  for (int64_t i = 0; i < n; ++i) {
    const double ri = r[i];
    v[i] = static_cast<float>(1.0 / (ri * ri) - eps);
  }
  return var;
}

}  // namespace ember::nn::kernels::dnnl
