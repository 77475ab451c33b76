#pragma once
// What bench_norm measures, in plain C++ shared by its two halves: bench_norm.cpp and
// ember_side.cpp see ember's headers, libtorch_side.cpp sees LibTorch's, and neither sees the
// other's (LibTorch 1.13 is compiled as C++17 with its own flags; see bench/CMakeLists.txt).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bench {

enum class Norm { BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, InstanceNorm2d };

// One module on one input: PyTorch's defaults throughout (BatchNorm affine with running stats,
// LayerNorm over the last dim, GroupNorm affine, InstanceNorm2d without affine or running stats).
struct NormCase {
  Norm norm;
  std::vector<int64_t> shape;  // logical sizes [N, C, *]; LayerNorm: [rows, D], normalizes D
  int64_t groups = 0;          // GroupNorm only
  bool channels_last = false;

  int64_t numel() const;
  bool is_batch_norm() const { return norm == Norm::BatchNorm1d || norm == Norm::BatchNorm2d; }
  std::string name() const;   // for benchmark names: "BatchNorm2d/32x64x56x56/nchw"
  std::string label() const;  // for the table: "BatchNorm2d [32,64,56,56] NCHW"
};

// Train-mode forward (graph recorded, running stats updated), backward alone (retain_graph),
// train-mode forward+backward, and no-grad eval-mode forward.
enum class Phase { Forward, Backward, ForwardBackward, EvalForward };
const char* phase_name(Phase phase);   // "fwd", "bwd", "fwdbwd", "eval"
const char* phase_label(Phase phase);  // "train fwd", "bwd", "train fwd+bwd", "eval fwd"

// One library's module, input x (requires grad) and fixed output gradient dy. prepare() does the
// untimed setup for a phase (mode, and for Backward the forward whose graph is replayed); run()
// is the timed body. Gradients are reset to none before every backward so that neither library
// pays an accumulation pass into an existing .grad.
class NormRunner {
 public:
  virtual ~NormRunner() = default;
  virtual void prepare(Phase phase) = 0;
  virtual void run(Phase phase) = 0;
  // One train-mode forward+backward; y and dx in logical (row-major [N, C, *]) order.
  virtual void outputs(std::vector<float>* y, std::vector<float>* dx) = 0;
};

// x and dy hold numel() values in logical order.
std::unique_ptr<NormRunner> make_ember_runner(const NormCase& c, const std::vector<float>& x,
                                              const std::vector<float>& dy);

#ifdef EMBER_BENCH_WITH_TORCH
std::unique_ptr<NormRunner> make_torch_runner(const NormCase& c, const std::vector<float>& x,
                                              const std::vector<float>& dy);
#endif

}  // namespace bench
