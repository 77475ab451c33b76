#include "bench/machine_load.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace bench {

ForeignLoad::Sample ForeignLoad::sample() {
  Sample s;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  double f[8] = {};
  stat >> cpu;
  for (double& v : f) stat >> v;
  if (!stat || cpu != "cpu") return s;
  s.total = f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7];
  s.busy = s.total - f[3] - f[4];
  // The command name in field 2 may contain spaces; utime and stime are fields 14 and 15.
  std::ifstream self("/proc/self/stat");
  const std::string line((std::istreambuf_iterator<char>(self)), std::istreambuf_iterator<char>());
  const auto close = line.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields{std::istream_iterator<std::string>(rest),
                                  std::istream_iterator<std::string>()};
  if (fields.size() < 13) return s;
  s.self = std::stod(fields[11]) + std::stod(fields[12]);  // fields[0] is field 3
  s.ok = true;
  return s;
}

double ForeignLoad::share() const {
  const Sample now = sample();
  if (!start_.ok || !now.ok || now.total <= start_.total) return NAN;
  const double foreign = (now.busy - start_.busy) - (now.self - start_.self);
  return std::max(0.0, foreign / (now.total - start_.total));
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "?";
  return one + " " + five + " " + fifteen;
}

}  // namespace bench
