// Uses the public API the way a user would; exits non-zero when anything is off.
#include <ember/ember.h>

#include <iostream>

int main() {
  ember::Tensor x = ember::tensor({1, 2, 3, 4}, {2, 2});
  x.requires_grad_();
  ember::Tensor y = (x * x).sum();
  y.backward();
  // d/dx sum(x^2) = 2x
  bool ok = ember::allclose(x.grad(), x.detach() * 2.0);
  std::cout << "consumer: grad " << x.grad() << (ok ? " ok" : " WRONG") << "\n";
  return ok ? 0 : 1;
}
