#pragma once
// Which kernels run the normalizations. Auto (the default) picks per call: oneDNN where it is
// measured to win (float32, supported layouts), the native kernels elsewhere. Native and Dnnl
// force one (Dnnl still falls back to native where oneDNN has no primitive, e.g. float64).
// The environment variable EMBER_NORM_BACKEND=native|dnnl|auto sets the initial choice.
#include <string>

namespace ember::nn {

enum class NormBackend { Auto, Native, Dnnl };

void set_norm_backend(NormBackend backend);
NormBackend norm_backend();
std::string to_string(NormBackend backend);
// Whether ember was built with oneDNN.
bool has_dnnl();

}  // namespace ember::nn
