# Shared by scripts/demo and scripts/test: install what is missing, then configure and build.
# Sourced, not run. Uses the Debian packages listed in ARCHITECTURE.md; nothing else is downloaded.
set -euo pipefail
EMBER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${EMBER_BUILD_DIR:-$EMBER_ROOT/build}"
JOBS="${EMBER_JOBS:-2}"

say() { printf '\n==> %s\n' "$*"; }

EMBER_PACKAGES=(build-essential cmake libdnnl-dev ocl-icd-opencl-dev opencl-c-headers libeigen3-dev
  libspdlog-dev nlohmann-json3-dev zlib1g-dev libgtest-dev libbenchmark-dev dataset-fashion-mnist)

install_missing_packages() {
  local missing=()
  for p in "${EMBER_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    say "all Debian packages present"
    return
  fi
  say "installing missing Debian packages: ${missing[*]}"
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

configure_and_build() {
  say "configuring in $BUILD_DIR (Release)"
  cmake -S "$EMBER_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "$@"
  say "building with $JOBS jobs"
  cmake --build "$BUILD_DIR" -j "$JOBS"
}
