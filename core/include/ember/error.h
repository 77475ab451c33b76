#pragma once
// ember::Error: every user-facing failure (bad shapes, bad files, misuse of autograd).
#include <sstream>
#include <stdexcept>
#include <string>

namespace ember {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

}  // namespace ember

// EMBER_CHECK(cond, parts...): throws ember::Error with the streamed parts when cond is false.
#define EMBER_CHECK(cond, ...)                                               \
  do {                                                                       \
    if (!(cond)) throw ::ember::Error(::ember::detail::concat(__VA_ARGS__)); \
  } while (0)
