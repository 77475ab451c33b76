// libFuzzer target for the safetensors reader. Any input may be rejected with ember::Error;
// anything else (another exception, a crash, a sanitizer report, a timeout) is a bug.
//
// Inputs that load are saved again and reloaded: the writer must accept everything the reader
// produces, and the bytes must be stable after one normalizing round (save -> load -> save).
#include <cstddef>
#include <cstdint>
#include <string>

#include "ember/state_dict.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  ember::Metadata metadata;
  ember::StateDict dict;
  try {
    dict = ember::load_from_bytes(bytes, &metadata);
  } catch (const ember::Error&) {
    return 0;  // rejected cleanly: the expected outcome for most inputs
  }
  const std::string saved = ember::save_to_bytes(dict, metadata);
  ember::Metadata reloaded_metadata;
  const ember::StateDict reloaded = ember::load_from_bytes(saved, &reloaded_metadata);
  if (reloaded.keys() != dict.keys() || reloaded_metadata != metadata ||
      ember::save_to_bytes(reloaded, reloaded_metadata) != saved) {
    __builtin_trap();
  }
  return 0;
}
