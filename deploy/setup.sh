# Shared by deploy/test and deploy/run (sourced, not run): installs what is missing on a
# Debian 12 machine and builds Jointly. Everything here is idempotent and quick when done.

JOINTLY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOINTLY_BUILD_TARGETS=()  # build(): what to build; empty means everything

# Debian 12 packages the build and the tests need. Boost is Debian's 1.81 (never the default
# 1.74 libboost-dev, which conflicts with it).
JOINTLY_APT_PACKAGES=(
  g++ cmake make pkg-config ca-certificates
  libboost1.81-dev libboost-program-options1.81-dev
  librocksdb-dev nlohmann-json3-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsodium-dev libssl-dev libspdlog-dev libdtl-dev libcmark-gfm-dev libcmark-gfm-extensions-dev
  libutfcpp-dev
  haproxy  # tests/cluster: three and four nodes behind it
)

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# install_packages: apt-get installs the packages that are not installed yet (none: no apt call).
install_packages() {
  local missing=() p
  for p in "${JOINTLY_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # Node.js: Debian's nodejs + npm unless a node is already on PATH.
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# install_fuzz_packages: what tests/fuzz/run.sh needs and deploy/run does not: Debian's clang 14
# with libFuzzer and the sanitizer runtimes (libclang-rt-14-dev), and llvm-14 for
# llvm-symbolizer (readable stack traces in crash reports). Used by the fuzz suite only.
install_fuzz_packages() {
  local JOINTLY_APT_PACKAGES=(clang libclang-rt-14-dev llvm-14)
  install_packages
}

# npm_ci DIR: installs DIR's locked npm dependencies when the lock file changed since last time.
npm_ci() {
  local dir=$1 stamp=$1/node_modules/.jointly-lock
  [ -f "$dir/package-lock.json" ] || return 0
  if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then return 0; fi
  log "npm ci in ${dir#$JOINTLY_ROOT/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) && cp "$dir/package-lock.json" "$stamp"
}

# build DIR [cmake options...]: configures (once) and builds into DIR, incrementally: the
# targets named in JOINTLY_BUILD_TARGETS (in one parallel build), or everything.
build() {
  local dir=$1; shift
  # Configuring again is quick and picks up new targets before make looks for them.
  cmake -S "$JOINTLY_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null || return 1
  if [ ${#JOINTLY_BUILD_TARGETS[@]} -gt 0 ]; then
    cmake --build "$dir" -j"$(nproc)" --target "${JOINTLY_BUILD_TARGETS[@]}"
  else
    cmake --build "$dir" -j"$(nproc)"
  fi
}

# build_client [--with-browser]: builds the browser client into client-web/dist (npm ci when the
# lock file changed, then esbuild: index.html, app.js, app.css). With --with-browser it also
# installs what the client's end-to-end tests need: Debian's chromium (driven by playwright-core
# at /usr/bin/chromium) and a colour emoji font, so that emoji show in the screenshots.
build_client() {
  if [ "${1:-}" = --with-browser ]; then
    local missing=() p
    for p in chromium fonts-noto-color-emoji; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      log "installing: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      as_root apt-get update -qq
      as_root apt-get install -y -qq "${missing[@]}" >/dev/null || return 1
    fi
  fi
  npm_ci "$JOINTLY_ROOT/client-web" || return 1
  log "building the browser client into client-web/dist"
  (cd "$JOINTLY_ROOT/client-web" && node build.mjs)
}
