#include "optim/hyperparameter_io.h"

#include <cmath>

namespace ember::optim::detail {

void HyperparameterWriter::operator()(const char* name, double& value) {
  out_.insert(prefix_ + name, scalar_tensor(value, kFloat64));
}
void HyperparameterWriter::operator()(const char* name, bool& value) {
  out_.insert(prefix_ + name, scalar_tensor(value ? 1.0 : 0.0, kFloat64));
}
void HyperparameterWriter::operator()(const char* name, int64_t& value) {
  out_.insert(prefix_ + name, scalar_tensor(static_cast<double>(value), kInt64));
}
void HyperparameterWriter::operator()(const char* name, std::tuple<double, double>& value) {
  out_.insert(prefix_ + name, tensor({std::get<0>(value), std::get<1>(value)}, Shape{2}, kFloat64));
}

const Tensor& HyperparameterReader::entry(const char* name, const Shape& shape) {
  const std::string key = prefix_ + name;
  if (!in_.contains(key)) throw missing_key(owner_, key);
  const Tensor& t = in_.at(key);
  EMBER_CHECK(t.sizes() == shape, "Error in loading state_dict for ", owner_, ": \"", key,
              "\" has shape ", shape_str(t.sizes()), ", expected ", shape_str(shape), ".");
  used_.insert(key);
  return t;
}

void HyperparameterReader::operator()(const char* name, double& value) {
  value = entry(name, {}).item<double>();
}
void HyperparameterReader::operator()(const char* name, bool& value) {
  const double v = entry(name, {}).item<double>();
  EMBER_CHECK(v == 0.0 || v == 1.0, "Error in loading state_dict for ", owner_, ": \"",
              prefix_ + name, "\" is a flag and must be 0 or 1, got ", v, ".");
  value = v == 1.0;
}
void HyperparameterReader::operator()(const char* name, int64_t& value) {
  const Tensor& t = entry(name, {});
  if (t.dtype() == kInt64) {
    value = t.item<int64_t>();
    return;
  }
  // Accept a float holding an integer (a checkpoint written without Int64 support).
  const double v = t.item<double>();
  EMBER_CHECK(std::nearbyint(v) == v && std::abs(v) < 9007199254740992.0,
              "Error in loading state_dict for ", owner_, ": \"", prefix_ + name,
              "\" must be an integer, got ", v, ".");
  value = static_cast<int64_t>(v);
}
void HyperparameterReader::operator()(const char* name, std::tuple<double, double>& value) {
  const std::vector<double> v = entry(name, {2}).to_vector<double>();
  value = {v[0], v[1]};
}

Error missing_key(const std::string& owner, const std::string& key) {
  return Error("Error(s) in loading state_dict for " + owner +
               ":\n\tMissing key(s) in state_dict: \"" + key + "\".");
}
Error unexpected_key(const std::string& owner, const std::string& key) {
  return Error("Error(s) in loading state_dict for " + owner +
               ":\n\tUnexpected key(s) in state_dict: \"" + key + "\".");
}

}  // namespace ember::optim::detail
