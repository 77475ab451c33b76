#pragma once
// Threads and logging.
#include <string>

namespace ember {

// Sets the number of threads of ember's kernels and of oneDNN (both run on OpenMP).
void set_num_threads(int n);
int get_num_threads();

// The spdlog logger "ember" logs at the level in EMBER_LOG_LEVEL (trace, debug, info, warn, error,
// off; default info). These forward to it, so public headers need no spdlog.
void log_info(const std::string& message);
void log_warn(const std::string& message);
void log_debug(const std::string& message);
void set_log_level(const std::string& level);

}  // namespace ember
