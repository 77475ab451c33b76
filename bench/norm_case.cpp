#include "bench/norm_case.h"

namespace bench {

namespace {
const char* norm_name(Norm norm) {
  switch (norm) {
    case Norm::BatchNorm1d:
      return "BatchNorm1d";
    case Norm::BatchNorm2d:
      return "BatchNorm2d";
    case Norm::LayerNorm:
      return "LayerNorm";
    case Norm::GroupNorm:
      return "GroupNorm";
    case Norm::InstanceNorm2d:
      return "InstanceNorm2d";
  }
  return "?";
}

std::string join(const std::vector<int64_t>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += sep;
    s += std::to_string(v[i]);
  }
  return s;
}
}  // namespace

int64_t NormCase::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

std::string NormCase::name() const {
  std::string s = norm_name(norm);
  // Appending piecewise: `"literal" + std::string&&` trips GCC 12's -Wrestrict (PR 105329).
  if (norm == Norm::GroupNorm) s.append("-g").append(std::to_string(groups));
  s.append("/").append(join(shape, "x"));
  if (shape.size() == 4) s += channels_last ? "/nhwc" : "/nchw";
  return s;
}

std::string NormCase::label() const {
  std::string s = norm_name(norm);
  if (norm == Norm::GroupNorm) s.append(" ").append(std::to_string(groups)).append("g");
  s.append(" [").append(join(shape, ",")).append("]");
  if (shape.size() == 4) s += channels_last ? " NHWC" : " NCHW";
  return s;
}

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::Forward:
      return "fwd";
    case Phase::Backward:
      return "bwd";
    case Phase::ForwardBackward:
      return "fwdbwd";
    case Phase::EvalForward:
      return "eval";
  }
  return "?";
}

const char* phase_label(Phase phase) {
  switch (phase) {
    case Phase::Forward:
      return "train fwd";
    case Phase::Backward:
      return "bwd";
    case Phase::ForwardBackward:
      return "train fwd+bwd";
    case Phase::EvalForward:
      return "eval fwd";
  }
  return "?";
}

}  // namespace bench
