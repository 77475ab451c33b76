// The autograd graph and engine: edges, saved tensors, leaf accumulation, and an iterative walk of
// the graph in dependency order (no recursion, so a 10,000-step RNN unroll cannot overflow the
// stack). Backward functions run under no-grad: ember computes first-order gradients only.
#include <unordered_map>
#include <unordered_set>

#include "ember/autograd/grad_mode.h"
#include "ember/autograd/node.h"

namespace ember::autograd {

// ---- saved tensors ----

// A detached alias: the values are shared, but the graph is not, so a node that saves its own
// output does not keep itself alive through a reference cycle.
SavedTensor::SavedTensor(const Tensor& t)
    : tensor_(t.defined() ? t.detach() : Tensor()), version_(t.defined() ? t.version() : 0) {}

Tensor SavedTensor::unpack(const std::string& node_name) const {
  if (tensor_.defined() && tensor_.version() != version_)
    throw Error(detail::concat(
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: [",
        tensor_.dtype(), " ", shape_str(tensor_.sizes()), "], which is output 0 of ", node_name,
        ", is at version ", tensor_.version(), "; expected version ", version_, " instead."));
  return tensor_;
}

// ---- nodes ----

Node::~Node() {
  std::vector<std::shared_ptr<Node>> orphans;
  auto adopt = [&](std::vector<Edge>& edges) {
    for (Edge& e : edges)
      if (e.node && e.node.use_count() == 1) orphans.push_back(std::move(e.node));
  };
  adopt(next_edges);
  while (!orphans.empty()) {
    std::shared_ptr<Node> n = std::move(orphans.back());
    orphans.pop_back();
    adopt(n->next_edges);  // n is destroyed here with no children left to recurse into
  }
}

std::vector<Tensor> FunctionNode::apply(const std::vector<Tensor>& grads) {
  return fn_(grads.at(0));
}

namespace {

// Adds a gradient into a leaf's .grad (the only node that touches user-visible state).
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> variable) : variable_(std::move(variable)) {
    output_sizes = {variable_->sizes};
    output_dtypes = {variable_->dtype};
  }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads.at(0);
    Tensor var(variable_);
    Tensor& slot = variable_->grad;
    if (!slot.defined()) {
      // The leaf must own its .grad: g may be shared (a user's grad_output, an input's gradient
      // passed through unchanged). When nothing else can see g, take it as it is — a clone here
      // was 13% of a BatchNorm forward+backward.
      slot = can_steal(g, var) ? g : g.clone(var.suggest_memory_format());
    } else {
      slot.add_(g);
    }
    return {};
  }
  std::string name() const override { return "AccumulateGrad"; }

 private:
  // Only the engine's gradient buffer holds g (one reference to its impl, one to the storage,
  // so no view or user handle aliases it), and g is laid out as a fresh clone would be.
  static bool can_steal(const Tensor& g, const Tensor& var) {
    const TensorImpl* impl = g.impl();
    return g.impl_ptr().use_count() == 1 && impl->storage.use_count() == 1 && impl->offset == 0 &&
           !impl->requires_grad && !impl->grad_fn && g.is_contiguous(var.suggest_memory_format());
  }

  std::shared_ptr<TensorImpl> variable_;
};

std::shared_ptr<Node> grad_accumulator(const Tensor& leaf) {
  TensorImpl* impl = leaf.impl();
  if (auto node = impl->grad_accumulator.lock()) return node;
  auto node = std::make_shared<AccumulateGrad>(leaf.impl_ptr());
  impl->grad_accumulator = node;
  return node;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined()) return {};
  if (t.grad_fn()) return {t.grad_fn(), t.impl()->output_nr};
  if (t.requires_grad()) return {grad_accumulator(t), 0};
  return {};
}

struct Capture {
  Node* node;
  uint32_t input_nr;
  size_t slot;
};

// Walks the graph from `roots`, feeding `root_grads`. With `captures`, gradients arriving at those
// (node, output) pairs are stored in `captured` and leaves' .grad are left alone.
void execute(const std::vector<Edge>& roots, const std::vector<Tensor>& root_grads,
             bool retain_graph, const std::vector<Capture>* captures,
             std::vector<Tensor>* captured) {
  NoGradGuard no_grad;
  // Every node reachable from the roots gets an index; the per-node state lives in vectors by
  // index (one hash map instead of four: a small graph's backward was mostly malloc).
  std::unordered_map<Node*, size_t> index;
  std::vector<std::shared_ptr<Node>> nodes;  // keeps each node alive while the engine runs
  std::vector<int> deps;                     // incoming edges not yet processed
  auto visit = [&](const std::shared_ptr<Node>& n) {
    const auto [it, added] = index.emplace(n.get(), nodes.size());
    if (added) {
      nodes.push_back(n);
      deps.push_back(0);
    }
    return std::pair<size_t, bool>{it->second, added};
  };
  std::vector<size_t> stack;
  for (const Edge& e : roots)
    if (const auto [i, added] = visit(e.node); added) stack.push_back(i);
  while (!stack.empty()) {  // count each node's incoming edges
    Node* n = nodes[stack.back()].get();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.valid()) continue;
      const auto [i, added] = visit(e.node);
      ++deps[i];
      if (added) stack.push_back(i);
    }
  }

  std::vector<std::vector<Tensor>> buffers(nodes.size());
  // Slots holding a sum the engine allocated itself; later gradients are added in place there
  // (an RNN's weights receive one gradient per step). A first gradient may be shared, so it is
  // never written to.
  std::vector<std::vector<bool>> owned(nodes.size());
  auto add_to_buffer = [&](size_t i, uint32_t nr, const Tensor& g) {
    auto& buf = buffers[i];
    auto& own = owned[i];
    buf.resize(std::max<size_t>(nodes[i]->num_outputs, nr + 1));
    own.resize(buf.size(), false);
    if (!buf[nr].defined()) {
      buf[nr] = g;
    } else if (own[nr] && buf[nr].sizes() == g.sizes() && buf[nr].dtype() == g.dtype()) {
      buf[nr].add_(g);
    } else {
      buf[nr] = buf[nr] + g;
      own[nr] = true;
    }
  };
  for (size_t r = 0; r < roots.size(); ++r)
    add_to_buffer(index.at(roots[r].node.get()), roots[r].input_nr, root_grads[r]);

  std::vector<size_t> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (deps[i] == 0) ready.push_back(i);

  while (!ready.empty()) {
    const size_t ni = ready.back();
    ready.pop_back();
    Node* node = nodes[ni].get();
    std::vector<Tensor> grads = std::move(buffers[ni]);
    owned[ni].clear();
    grads.resize(node->num_outputs);
    if (captures) {
      for (const Capture& c : *captures)
        if (c.node == node && c.input_nr < grads.size()) (*captured)[c.slot] = grads[c.input_nr];
    }
    const bool is_leaf = dynamic_cast<AccumulateGrad*>(node) != nullptr;
    bool any = false;
    for (const Tensor& g : grads) any = any || g.defined();
    std::vector<Tensor> outs;
    if (any && !(is_leaf && captures)) {
      if (node->released)
        throw Error(
            "Trying to backward through the graph a second time (or directly access saved tensors "
            "after they have already been freed). Saved intermediate values of the graph are freed "
            "when you call backward(). Specify retain_graph=true if you need to backward through "
            "the graph a second time (at " +
            node->name() + ")");
      // A node whose output received no gradient sees zeros of that output's shape.
      for (size_t i = 0; i < grads.size(); ++i)
        if (!grads[i].defined() && i < node->output_sizes.size())
          grads[i] = zeros(node->output_sizes[i], node->output_dtypes[i]);
      outs = node->apply(grads);
      if (!retain_graph && !is_leaf) {
        node->release();
        node->released = true;
      }
    }
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      const size_t next = index.at(e.node.get());
      if (i < outs.size() && outs[i].defined()) {
        Tensor g = outs[i];
        const auto& expected = e.node->output_sizes;
        if (e.input_nr < expected.size()) {
          EMBER_CHECK(g.sizes() == expected[e.input_nr], "Function ", node->name(),
                      " returned an invalid gradient at index ", i, " - got ", shape_str(g.sizes()),
                      " but expected shape compatible with ", shape_str(expected[e.input_nr]));
          if (g.dtype() != e.node->output_dtypes[e.input_nr])
            g = g.to(e.node->output_dtypes[e.input_nr]);
        }
        add_to_buffer(next, e.input_nr, g);
      }
      if (--deps[next] == 0) ready.push_back(next);
    }
  }
}

Edge root_edge(const Tensor& root, size_t index) {
  EMBER_CHECK(root.defined(), "backward: output ", index, " is an undefined tensor");
  Edge e = gradient_edge(root);
  EMBER_CHECK(e.valid(), "element ", index,
              " of tensors does not require grad and does not have a grad_fn");
  return e;
}

Tensor root_grad(const Tensor& root, const Tensor& given) {
  if (!given.defined()) {
    EMBER_CHECK(root.numel() == 1,
                "grad can be implicitly created only for scalar outputs (got an "
                "output of shape ",
                shape_str(root.sizes()), "); pass a gradient to backward()");
    return ones_like(root);
  }
  EMBER_CHECK(given.sizes() == root.sizes(), "Mismatch in shape: grad_output has a shape of ",
              shape_str(given.sizes()), " and output has a shape of ", shape_str(root.sizes()));
  return given.dtype() == root.dtype() ? given.detach() : given.detach().to(root.dtype());
}

}  // namespace

// ---- recording ----

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!is_grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
            const std::vector<Tensor*>& outputs) {
  if (!any_requires_grad(inputs)) return false;
  node->next_edges.clear();
  for (const Tensor& t : inputs) node->next_edges.push_back(gradient_edge(t));
  node->num_outputs = static_cast<uint32_t>(outputs.size());
  node->output_sizes.clear();
  node->output_dtypes.clear();
  for (size_t i = 0; i < outputs.size(); ++i) {
    TensorImpl* impl = outputs[i]->impl();
    impl->grad_fn = node;
    impl->output_nr = static_cast<uint32_t>(i);
    impl->requires_grad = true;
    node->output_sizes.push_back(impl->sizes);
    node->output_dtypes.push_back(impl->dtype);
  }
  return true;
}

Tensor record_function(const std::string& name, const std::vector<Tensor>& inputs, Tensor output,
                       FunctionNode::Fn fn) {
  if (!any_requires_grad(inputs)) return output;
  // A fresh handle: `output` may alias storage of an input (a view) but never its autograd state.
  if (output.impl()->grad_fn || output.impl()->requires_grad) output = output.detach();
  record(std::make_shared<FunctionNode>(name, std::move(fn)), inputs, {&output});
  return output;
}

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                  bool retain_graph) {
  std::vector<Edge> edges;
  std::vector<Tensor> seeds;
  for (size_t i = 0; i < roots.size(); ++i) {
    edges.push_back(root_edge(roots[i], i));
    seeds.push_back(root_grad(roots[i], i < grads.size() ? grads[i] : Tensor()));
  }
  execute(edges, seeds, retain_graph, nullptr, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph,
                         bool allow_unused) {
  std::vector<Edge> edges;
  std::vector<Tensor> seeds;
  for (size_t i = 0; i < outputs.size(); ++i) {
    edges.push_back(root_edge(outputs[i], i));
    seeds.push_back(root_grad(outputs[i], i < grad_outputs.size() ? grad_outputs[i] : Tensor()));
  }
  std::vector<Capture> captures;
  std::vector<Edge> keep_alive;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Edge e = gradient_edge(inputs[i]);
    EMBER_CHECK(e.valid(), "grad: input ", i, " does not require grad");
    captures.push_back({e.node.get(), e.input_nr, i});
    keep_alive.push_back(e);
  }
  std::vector<Tensor> result(inputs.size());
  execute(edges, seeds, retain_graph, &captures, &result);
  for (size_t i = 0; i < result.size(); ++i)
    EMBER_CHECK(result[i].defined() || allow_unused, "grad: input ", i,
                " was not used in the graph; pass allow_unused=true");
  return result;
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.sizes() == shape) return grad;
  const int64_t lead = grad.dim() - static_cast<int64_t>(shape.size());
  Shape dims;
  for (int64_t d = 0; d < grad.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && grad.size(d) != 1)) dims.push_back(d);
  Tensor r = dims.empty() ? grad : grad.sum(dims, /*keepdim=*/true);
  return r.reshape(shape);
}

}  // namespace ember::autograd

// ---- the autograd surface of Tensor ----
namespace ember {

Tensor& Tensor::requires_grad_(bool on) {
  EMBER_CHECK(defined(), "requires_grad_ on an undefined tensor");
  EMBER_CHECK(!on || is_floating(dtype()),
              "only Tensors of floating point dtype can require gradients (got ", dtype(), ")");
  EMBER_CHECK(on || is_leaf(),
              "you can only change requires_grad flags of leaf variables. If you want to use a "
              "computed variable in a subgraph that doesn't require differentiation use "
              "var_no_grad = var.detach().");
  impl_->requires_grad = on;
  return *this;
}

bool Tensor::requires_grad() const {
  return defined() && (impl_->requires_grad || impl_->grad_fn != nullptr);
}
bool Tensor::is_leaf() const { return !defined() || impl_->grad_fn == nullptr; }
Tensor Tensor::grad() const { return defined() ? impl_->grad : Tensor(); }
Tensor& Tensor::mutable_grad() {
  EMBER_CHECK(defined(), "grad of an undefined tensor");
  return impl_->grad;
}
void Tensor::set_grad(const Tensor& g) {
  EMBER_CHECK(!g.defined() || g.sizes() == sizes(), "assigned grad has data of a different size (",
              shape_str(g.sizes()), " vs ", shape_str(sizes()), ")");
  mutable_grad() = g;
}
const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<autograd::Node> none;
  return defined() ? impl_->grad_fn : none;
}
void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  autograd::run_backward({*this}, {gradient}, retain_graph);
}

}  // namespace ember
