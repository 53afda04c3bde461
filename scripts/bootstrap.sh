#!/usr/bin/env bash
# Installs what soulspotd needs to build, test and benchmark on Debian 12.
# Called by make; a no-op when everything is already present.
#   scripts/bootstrap.sh          build + test dependencies (Debian + npm)
#   scripts/bootstrap.sh --run    only what `make run` needs
#   scripts/bootstrap.sh --bench  build + test dependencies and what the
#                                 benchmarks compare with or measure by:
#                                 Debian's beets (bench/beets.sh) and GNU
#                                 time; never needed by `make test`
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-all}

build_pkgs=(build-essential pkg-config cmake ninja-build
  libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev sqlite3
  libjansson-dev libinih-dev libxxhash-dev libutf8proc-dev
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev
  libchromaprint-dev libseccomp-dev libsodium-dev libsystemd-dev nodejs npm)
test_pkgs=(libcmocka-dev curl clang libclang-rt-14-dev clang-tidy clang-format cppcheck valgrind wrk chromium
  procps ffmpeg systemd)
bench_pkgs=(beets time)

want=("${build_pkgs[@]}")
[ "$mode" = "--run" ] || want+=("${test_pkgs[@]}")
[ "$mode" != "--bench" ] || want+=("${bench_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  # nodejs/npm may come from outside Debian (the dev image ships its own).
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Front-end assets and the browser-test driver come from package-lock.json.
# node_modules/.soulspot-lock records the sha256 of the lock file it was
# installed from (mtimes change with every checkout).  A node_modules that is
# a symlink belongs to another checkout (a git worktree sharing it): it is
# never reinstalled from here, since npm ci would empty it for everyone.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.soulspot-lock 2>/dev/null)" != "$lock_sum" ]; then
  if [ -L node_modules ]; then
    echo "bootstrap: node_modules is a shared symlink installed from another" \
         "package-lock.json; left alone (run npm ci where it points)" >&2
  else
    echo "bootstrap: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "$lock_sum" > node_modules/.soulspot-lock
  fi
fi

# promtool (the metrics test's validator) from Debian's prometheus package,
# unpacked into .cache/: installing the package would add a server and its
# service that nothing here wants.
if [ "$mode" != "--run" ] && [ ! -x .cache/prometheus/usr/bin/promtool ]; then
  echo "bootstrap: promtool from Debian's prometheus package" >&2
  mkdir -p .cache/debs
  (cd .cache/debs && rm -f prometheus_*.deb && apt-get download prometheus >&2) ||
    { sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
      $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
      (cd .cache/debs && apt-get download prometheus >&2); }
  dpkg-deb -x .cache/debs/prometheus_*.deb .cache/prometheus
  rm -f .cache/debs/prometheus_*.deb .cache/prometheus/usr/bin/prometheus
fi
