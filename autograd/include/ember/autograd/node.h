#pragma once
// The autograd graph: each differentiable op records one Node. A Node maps the gradients of its
// outputs to the gradients of its inputs; its edges point at the nodes that produced those inputs.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ember/tensor.h"

namespace ember::autograd {

class Node;

struct Edge {
  std::shared_ptr<Node> node;  // null: that input needs no gradient
  uint32_t input_nr = 0;       // which output of `node` the input was
  bool valid() const { return node != nullptr; }
};

// A tensor saved for backward, with the storage version it had then: unpacking it after an in-place
// change throws, like PyTorch.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  Tensor unpack(const std::string& node_name) const;
  bool defined() const { return tensor_.defined(); }

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
};

class Node {
 public:
  // Frees the chain of nodes behind this one iteratively, so dropping a very long graph cannot
  // overflow the stack through nested shared_ptr destructors.
  virtual ~Node();
  // grads[i] is the gradient of output i (undefined when no gradient reached it). Returns one
  // gradient per edge (undefined where none).
  virtual std::vector<Tensor> apply(const std::vector<Tensor>& grads) = 0;
  virtual std::string name() const = 0;
  // Drops saved state after backward (unless retain_graph).
  virtual void release() {}

  std::vector<Edge> next_edges;
  uint32_t num_outputs = 1;
  bool released = false;
  // Shapes/dtypes of the outputs, so a missing gradient can be filled with zeros.
  std::vector<Shape> output_sizes;
  std::vector<DType> output_dtypes;
};

// A node written as a lambda: the common case for one-output ops.
// `fn` receives the output gradient and returns one gradient per input.
class FunctionNode : public Node {
 public:
  using Fn = std::function<std::vector<Tensor>(const Tensor& grad)>;
  FunctionNode(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override;
  std::string name() const override { return name_; }
  void release() override { fn_ = nullptr; }

 private:
  std::string name_;
  Fn fn_;
};

// True when grad mode is on and any input requires grad.
bool any_requires_grad(const std::vector<Tensor>& inputs);
// Connects `node` to the inputs (edges) and makes it the grad_fn of `outputs`.
// No-op (returns false) when no input requires grad or grad mode is off.
bool record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
            const std::vector<Tensor*>& outputs);
// The one-output lambda case: records FunctionNode(name, fn) when needed and returns `output`.
Tensor record_function(const std::string& name, const std::vector<Tensor>& inputs, Tensor output,
                       FunctionNode::Fn fn);

// Runs backward from `roots` seeded with `grads` (same length).
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                  bool retain_graph);
// Gradients of `outputs` w.r.t. `inputs` without touching .grad (used by gradcheck).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph = false,
                         bool allow_unused = true);

// Reduces a broadcast gradient back to `shape` (sums over the broadcast dims).
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace ember::autograd
