// The shared oneDNN state: one CPU engine, a stream and a scratchpad per thread, and the primitive
// cache.
#include "layers/kernels/dnnl/engine.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

#include "layers/kernels/dnnl/dnnl_norm.h"

namespace ember::nn::kernels::dnnl {

namespace {

// Bounded so that shapes that keep changing (RNN sequence lengths, last batches) cannot grow it
// without limit; an evicted primitive is recreated cheaply from oneDNN's own cache.
constexpr size_t kCapacity = 256;

// The engine and the cache in one object, the engine first: members are destroyed in reverse,
// so at exit the cached primitives go before the engine they were created on.
struct State {
  onednn::engine engine{onednn::engine::kind::cpu, 0};

  struct Entry {
    Primitive primitive;
    uint64_t last_use;
  };
  std::mutex mutex;  // guards everything below
  std::map<PrimitiveKey, Entry> entries;
  uint64_t tick = 0;

  void evict_least_recently_used() {
    auto oldest = entries.begin();
    for (auto it = entries.begin(); it != entries.end(); ++it)
      if (it->second.last_use < oldest->second.last_use) oldest = it;
    entries.erase(oldest);
  }
};

State& state() {
  static State instance;
  return instance;
}

// A CPU stream holds no per-execution state worth sharing, and oneDNN does not promise that one
// stream object may be driven from several threads at once: one per thread costs nothing.
onednn::stream& cpu_stream() {
  thread_local onednn::stream stream(cpu_engine());
  return stream;
}

// This thread's scratchpad, grown as needed. Executions are synchronous, so a thread never has
// two in flight; the buffer lives as long as the thread.
void* scratchpad_buffer(size_t bytes) {
  struct Buffer {
    void* data = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffer;
  if (bytes > buffer.size) {
    const size_t rounded = (bytes + 4095) / 4096 * 4096;  // page-aligned, as oneDNN's own
    void* data = std::aligned_alloc(4096, rounded);
    if (!data) throw std::bad_alloc();
    std::free(buffer.data);
    buffer.data = data;
    buffer.size = rounded;
  }
  return buffer.data;
}

}  // namespace

onednn::engine& cpu_engine() { return state().engine; }

Primitive cached_primitive(PrimitiveKey key, const std::function<Primitive()>& make) {
  State& c = state();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.entries.find(key);
  if (it != c.entries.end()) {
    it->second.last_use = ++c.tick;
    return it->second.primitive;
  }
  // Creation happens under the lock: it is rare (once per shape), and two threads racing on the
  // same new shape would otherwise both pay for it.
  try {
    Primitive made = make();
    if (c.entries.size() >= kCapacity) c.evict_least_recently_used();
    c.entries.emplace(std::move(key), State::Entry{made, ++c.tick});
    return made;
  } catch (const onednn::error& e) {
    throw Error(detail::concat("oneDNN could not create a primitive: ", e.what()));
  }
}

size_t primitive_cache_size() {
  State& c = state();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.entries.size();
}

onednn::memory wrap(const onednn::memory::desc& desc, const Tensor& t) {
  // oneDNN's memory handle is untyped and non-const; inputs are only read through it.
  return onednn::memory(desc, cpu_engine(), const_cast<float*>(t.data_ptr<float>()));
}

void execute(const Primitive& p, std::unordered_map<int, onednn::memory> args) {
  try {
    const size_t bytes = p.scratchpad.get_size();
    if (bytes > 0)
      args.emplace(DNNL_ARG_SCRATCHPAD,
                   onednn::memory(p.scratchpad, cpu_engine(), scratchpad_buffer(bytes)));
    onednn::stream& stream = cpu_stream();
    p.primitive.execute(stream, args);
    stream.wait();
  } catch (const onednn::error& e) {
    throw Error(detail::concat("oneDNN primitive failed: ", e.what()));
  }
}

onednn::primitive_attr primitive_attr() {
  onednn::primitive_attr attr;
  attr.set_scratchpad_mode(onednn::scratchpad_mode::user);
  return attr;
}

onednn::memory::desc vector_desc(int64_t n) {
  return onednn::memory::desc({n}, onednn::memory::data_type::f32, onednn::memory::format_tag::a);
}

bool statistics_at_risk(const Tensor& mean, const Tensor& rstd, double mean_rel_error) {
  const float* m = mean.data_ptr<float>();
  const float* r = rstd.data_ptr<float>();
  const double limit = 1e-4 / mean_rel_error;
  for (int64_t i = 0; i < mean.numel(); ++i)
    if (std::abs(static_cast<double>(m[i])) * r[i] > limit) return true;  // false for NaN
  return false;
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
