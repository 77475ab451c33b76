// Threads (OpenMP, shared with oneDNN) and the "ember" spdlog logger.
#include "ember/runtime.h"

#include <omp.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "ember/error.h"

namespace ember {

void set_num_threads(int n) {
  EMBER_CHECK(n >= 1, "set_num_threads: expected a positive number of threads, got ", n);
  // oneDNN's CPU runtime is OpenMP here, so this one call governs both.
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

namespace {

spdlog::level::level_enum parse_level(const std::string& name) {
  const auto level = spdlog::level::from_str(name);
  // from_str maps unknown names to "off"; only accept "off" when asked for.
  EMBER_CHECK(level != spdlog::level::off || name == "off", "unknown log level \"", name,
              "\" (expected trace, debug, info, warn, error, critical or off)");
  return level;
}

std::shared_ptr<spdlog::logger> logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto log = spdlog::get("ember");
    if (!log) log = spdlog::stderr_color_mt("ember");
    const char* env = std::getenv("EMBER_LOG_LEVEL");
    log->set_level(spdlog::level::info);
    if (env && *env) {
      try {
        log->set_level(parse_level(env));
      } catch (const Error& e) {
        log->warn("EMBER_LOG_LEVEL: {}; using info", e.what());
      }
    }
    return log;
  }();
  return instance;
}

}  // namespace

void log_info(const std::string& message) { logger()->info(message); }
void log_warn(const std::string& message) { logger()->warn(message); }
void log_debug(const std::string& message) { logger()->debug(message); }
void set_log_level(const std::string& level) { logger()->set_level(parse_level(level)); }

}  // namespace ember
