#pragma once
// Grad mode: a thread-local switch; while off, ops record no graph.
namespace ember {

bool is_grad_enabled();
void set_grad_enabled(bool enabled);

// RAII: no graph is recorded inside.
struct NoGradGuard {
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace ember
