// operator<< for Tensor: a port of PyTorch 1.13's repr() (torch/_tensor_str.py) with the default
// print options, so that ember and PyTorch sessions can be compared character by character.
// Only the public Tensor API is used: the printer works on a row-major copy of the values.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include "ember/autograd/node.h"
#include "ember/tensor.h"

namespace ember {
namespace {

// PyTorch's PRINT_OPTS defaults.
constexpr int64_t kThreshold = 1000;  // more elements than this: print only the edges
constexpr int64_t kEdgeItems = 3;
constexpr int64_t kLineWidth = 80;

std::string format_double(const char* spec, double value) {
  // Python prints every NaN as "nan"; printf would print "-nan" for a set sign bit.
  if (std::isnan(value)) return "nan";
  char buffer[400];  // "%.0f" of the largest double has 309 digits
  std::snprintf(buffer, sizeof buffer, spec, value);
  return buffer;
}

// _Formatter: one notation and one column width for every element printed, chosen from the
// elements that are shown (a summarized tensor's hidden values do not count).
class Formatter {
 public:
  Formatter() = default;
  explicit Formatter(const std::vector<int64_t>& shown);
  explicit Formatter(const std::vector<double>& shown);

  std::string operator()(int64_t value) const { return pad(std::to_string(value)); }
  std::string operator()(double value) const { return pad(text(value)); }
  size_t width() const { return width_; }

 private:
  std::string text(double value) const;
  std::string pad(const std::string& s) const;

  bool int_mode_ = true;  // every finite value is integral: print "2." rather than "2.0000"
  bool sci_mode_ = false;
  size_t width_ = 1;
};

Formatter::Formatter(const std::vector<int64_t>& shown) {
  for (int64_t value : shown) width_ = std::max(width_, std::to_string(value).size());
}

Formatter::Formatter(const std::vector<double>& shown) {
  // Zeros and non-finite values print the same in every notation, so only the others decide it.
  std::vector<double> decisive;
  for (double value : shown) {
    if (std::isfinite(value) && value != 0.0) decisive.push_back(value);
  }
  if (decisive.empty()) return;
  double min_abs = std::abs(decisive[0]);
  double max_abs = min_abs;
  for (double value : decisive) {
    min_abs = std::min(min_abs, std::abs(value));
    max_abs = std::max(max_abs, std::abs(value));
    int_mode_ = int_mode_ && value == std::ceil(value);
  }
  const bool wide_range = max_abs / min_abs > 1000.0 || max_abs > 1.0e8;
  // Integral values never have a small magnitude, so only fractional ones check the minimum.
  sci_mode_ = wide_range || (!int_mode_ && min_abs < 1.0e-4);
  for (double value : decisive) width_ = std::max(width_, text(value).size());
}

std::string Formatter::text(double value) const {
  if (sci_mode_) return format_double("%.4e", value);
  if (!int_mode_) return format_double("%.4f", value);
  // The trailing "." marks a float tensor whose values all happen to be integers.
  const std::string integral = format_double("%.0f", value);
  return std::isfinite(value) ? integral + "." : integral;
}

std::string Formatter::pad(const std::string& s) const {
  return s.size() >= width_ ? s : std::string(width_ - s.size(), ' ') + s;
}

// The nested "[...]" body of a non-empty tensor (_tensor_str).
class BodyPrinter {
 public:
  explicit BodyPrinter(const Tensor& t);
  std::string str(int64_t indent) const;

 private:
  static constexpr int64_t kEllipsis = -1;

  std::vector<int64_t> shown_indices(size_t dim) const;
  void collect_shown(size_t dim, int64_t offset, std::vector<int64_t>& flat) const;
  std::string element(int64_t flat) const;
  std::string block(size_t dim, int64_t offset, int64_t indent) const;
  std::string row(int64_t offset, int64_t indent) const;

  Shape sizes_;
  Shape strides_;  // row-major, in elements of the value vectors
  bool summarize_;
  bool is_int_;
  std::vector<int64_t> ints_;
  std::vector<double> floats_;
  Formatter format_;
};

BodyPrinter::BodyPrinter(const Tensor& t)
    : sizes_(t.sizes()),
      strides_(t.sizes().size(), 1),
      summarize_(t.numel() > kThreshold),
      is_int_(!is_floating(t.dtype())) {
  for (size_t d = sizes_.size(); d-- > 1;) strides_[d - 1] = strides_[d] * sizes_[d];
  std::vector<int64_t> shown;
  collect_shown(0, 0, shown);
  if (is_int_) {
    ints_ = t.to_vector<int64_t>();
    std::vector<int64_t> values;
    for (int64_t flat : shown) values.push_back(ints_[flat]);
    format_ = Formatter(values);
  } else {
    floats_ = t.to_vector<double>();
    std::vector<double> values;
    for (int64_t flat : shown) values.push_back(floats_[flat]);
    format_ = Formatter(values);
  }
}

std::vector<int64_t> BodyPrinter::shown_indices(size_t dim) const {
  const int64_t size = sizes_[dim];
  std::vector<int64_t> indices;
  if (summarize_ && size > 2 * kEdgeItems) {
    for (int64_t i = 0; i < kEdgeItems; ++i) indices.push_back(i);
    indices.push_back(kEllipsis);
    for (int64_t i = size - kEdgeItems; i < size; ++i) indices.push_back(i);
  } else {
    for (int64_t i = 0; i < size; ++i) indices.push_back(i);
  }
  return indices;
}

// Flat indices of the elements that will be printed (get_summarized_data).
void BodyPrinter::collect_shown(size_t dim, int64_t offset, std::vector<int64_t>& flat) const {
  if (dim == sizes_.size()) {
    flat.push_back(offset);
    return;
  }
  for (int64_t i : shown_indices(dim)) {
    if (i != kEllipsis) collect_shown(dim + 1, offset + i * strides_[dim], flat);
  }
}

std::string BodyPrinter::element(int64_t flat) const {
  return is_int_ ? format_(ints_[flat]) : format_(floats_[flat]);
}

std::string BodyPrinter::str(int64_t indent) const {
  return sizes_.empty() ? element(0) : block(0, 0, indent);
}

std::string BodyPrinter::block(size_t dim, int64_t offset, int64_t indent) const {
  if (dim + 1 == sizes_.size()) return row(offset, indent);
  // Sub-blocks of a k-dimensional block are separated by k - 1 line breaks.
  // (Appending rather than `"," + std::string(...)` avoids a false -Wrestrict in GCC 12.)
  std::string separator = ",";
  separator.append(sizes_.size() - dim - 1, '\n').append(indent + 1, ' ');
  std::string out = "[";
  for (int64_t i : shown_indices(dim)) {
    if (out.size() > 1) out += separator;
    out += i == kEllipsis ? "..." : block(dim + 1, offset + i * strides_[dim], indent + 1);
  }
  return out + "]";
}

// A 1-D row (_vector_str): elements wrap so that a line holds as many as fit in kLineWidth.
std::string BodyPrinter::row(int64_t offset, int64_t indent) const {
  const int64_t element_length = static_cast<int64_t>(format_.width()) + 2;  // ", " included
  const int64_t per_line = std::max<int64_t>(1, (kLineWidth - indent) / element_length);
  std::string out = "[";
  int64_t on_line = 0;
  for (int64_t i : shown_indices(sizes_.size() - 1)) {
    if (on_line == per_line) {
      out += ",\n" + std::string(indent + 1, ' ');
      on_line = 0;
    } else if (on_line > 0) {
      out += ", ";
    }
    // The ellipsis counts as one element of the line, as in PyTorch.
    out += i == kEllipsis ? " ..." : element(offset + i);
    ++on_line;
  }
  return out + "]";
}

std::string tuple_str(const Shape& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  }
  return out + (shape.size() == 1 ? ",)" : ")");
}

std::string torch_dtype(DType dtype) { return "torch." + dtype_name(dtype); }

// _add_suffixes: a suffix that would overflow the last line starts a new, indented one.
std::string add_suffixes(std::string out, const std::vector<std::string>& suffixes,
                         int64_t indent) {
  // PyTorch measures len(s) - s.rfind("\n") + 1, i.e. the last line's length plus two.
  const size_t newline = out.rfind('\n');
  int64_t last_line_len = static_cast<int64_t>(out.size()) -
                          (newline == std::string::npos ? -1 : static_cast<int64_t>(newline)) + 1;
  for (const std::string& suffix : suffixes) {
    const int64_t suffix_len = static_cast<int64_t>(suffix.size());
    if (last_line_len + suffix_len + 2 > kLineWidth) {
      out += ",\n" + std::string(indent, ' ') + suffix;
      last_line_len = indent + suffix_len;
    } else {
      out += ", " + suffix;
      last_line_len += suffix_len + 2;
    }
  }
  return out + ")";
}

std::vector<std::string> autograd_suffixes(const Tensor& t) {
  if (t.grad_fn()) return {"grad_fn=<" + t.grad_fn()->name() + ">"};
  if (t.requires_grad()) return {"requires_grad=True"};
  return {};
}

std::string repr(const Tensor& t) {
  const std::string prefix = "tensor(";
  const int64_t indent = static_cast<int64_t>(prefix.size());
  std::vector<std::string> suffixes;
  std::string body;
  if (t.numel() == 0) {
    // Nothing shows the shape or dtype of an empty tensor, so both are spelled out (as NumPy does).
    if (t.dim() != 1) suffixes.push_back("size=" + tuple_str(t.sizes()));
    if (t.dtype() != kFloat32) suffixes.push_back("dtype=" + torch_dtype(t.dtype()));
    body = "[]";
  } else {
    // float32 is the default dtype and int64 shows in the digits; float64 must be named.
    if (t.dtype() == kFloat64) suffixes.push_back("dtype=" + torch_dtype(t.dtype()));
    body = BodyPrinter(t).str(indent);
  }
  for (std::string& suffix : autograd_suffixes(t)) suffixes.push_back(std::move(suffix));
  return add_suffixes(prefix + body, suffixes, indent);
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  // LibTorch's text for a null handle; there is nothing to print like PyTorch.
  if (!t.defined()) return out << "[ Tensor (undefined) ]";
  return out << repr(t);
}

}  // namespace ember
