#pragma once
// InputFile: sequential reads from a file that may or may not be gzip-compressed. zlib sniffs the
// gzip magic (1f 8b) itself and passes anything else through, so readers have one code path for
// both; corrupt gzip streams surface as ember::Error and truncated ones as a flag, never as
// garbage.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

struct gzFile_s;  // zlib's handle; zlib.h stays out of this header

namespace ember::data::internal {

class InputFile {
 public:
  // `caller` prefixes every error message ("read_idx: ...").
  InputFile(std::string path, std::string caller);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Reads up to `n` bytes into `buffer` and returns how many it read: fewer than `n` only at the
  // end of the data, or when a gzip stream is cut short (then truncated() is true). Throws
  // ember::Error on I/O errors and corrupt gzip data.
  size_t read(void* buffer, size_t n);

  // True when the gzip stream ended before its end marker and checksum: the data read so far is
  // all there is, and it is incomplete. Readers report it with their own sizes.
  bool truncated() const { return truncated_; }

  // True when the file is gzip-compressed (known once read() has been called).
  bool compressed() const;
  // The size on disk of a regular file: for an uncompressed one, the exact size of its data, so
  // readers can check lengths before allocating anything.
  std::optional<uint64_t> file_size() const { return file_size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string caller_;
  gzFile_s* gz_ = nullptr;
  std::optional<uint64_t> file_size_;
  bool truncated_ = false;
};

}  // namespace ember::data::internal
