// InputFile over zlib's gz* API: it reads gzip and raw files alike (transparent mode), handles
// multi-member gzip files and checks each member's CRC and length.
#include "data/input_file.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <filesystem>
#include <system_error>

#include "ember/error.h"

namespace ember::data::internal {

namespace {
// A larger buffer than zlib's 8 KiB default: fewer read() calls on the 26 MB Fashion-MNIST file.
constexpr unsigned kBufferBytes = 1u << 17;
// gzread takes an unsigned length and returns an int.
constexpr size_t kMaxReadBytes = 1u << 30;
}  // namespace

InputFile::InputFile(std::string path, std::string caller)
    : path_(std::move(path)), caller_(std::move(caller)) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path_, ec);
  // A directory opens fine on Linux and only fails at the first read, with a vaguer message.
  EMBER_CHECK(!fs::is_directory(status), caller_, ": '", path_, "' is a directory, not a file");
  if (fs::is_regular_file(status)) {
    const uintmax_t size = fs::file_size(path_, ec);
    if (!ec) file_size_ = size;
  }
  errno = 0;
  gz_ = gzopen(path_.c_str(), "rb");
  if (gz_ == nullptr) {
    const std::string reason =
        errno != 0 ? std::error_code(errno, std::generic_category()).message() : "out of memory";
    throw Error(detail::concat(caller_, ": cannot open '", path_, "': ", reason));
  }
  gzbuffer(gz_, kBufferBytes);
}

InputFile::~InputFile() {
  if (gz_ != nullptr) gzclose_r(gz_);
}

size_t InputFile::read(void* buffer, size_t n) {
  if (truncated_) return 0;
  auto* out = static_cast<char*>(buffer);
  size_t total = 0;
  while (total < n) {
    const auto want = static_cast<unsigned>(std::min(n - total, kMaxReadBytes));
    const int got = gzread(gz_, out + total, want);
    int errnum = Z_OK;
    const char* message = gzerror(gz_, &errnum);
    // zlib flags a gzip stream cut short with Z_BUF_ERROR ("unexpected end of file") as soon as it
    // meets the end of the input, which can be while it still holds decompressed data for us: the
    // data is truncated only once a read comes back short. A raw file simply ends, no error.
    if (got < 0 || (errnum != Z_OK && errnum != Z_BUF_ERROR)) {
      std::string reason = errnum == Z_ERRNO
                               ? std::error_code(errno, std::generic_category()).message()
                               : std::string(message);
      // zlib prefixes its messages with the path, which ours already names.
      if (reason.starts_with(path_ + ": ")) reason.erase(0, path_.size() + 2);
      throw Error(detail::concat(caller_, ": cannot read '", path_,
                                 compressed() ? "' (corrupt gzip data): " : "': ", reason));
    }
    total += static_cast<size_t>(got);
    if (static_cast<unsigned>(got) < want) {
      truncated_ = errnum == Z_BUF_ERROR;
      break;
    }
  }
  return total;
}

bool InputFile::compressed() const { return gzdirect(gz_) == 0; }

}  // namespace ember::data::internal
