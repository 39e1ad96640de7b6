#!/usr/bin/env bash
# Installs whatever nimbus needs and is missing on this machine: npm
# dependencies (when package.json or the lock changed) and the Debian packages
# the engines and cluster mode use. Safe to run again; quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

need=()
command -v runc >/dev/null || need+=(runc)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
# The microVM's CRNG reseed helper is compiled static at image build.
command -v gcc >/dev/null || need+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v nginx >/dev/null || need+=(nginx)
command -v nats-server >/dev/null || need+=(nats-server)
command -v xz >/dev/null || need+=(xz-utils)
command -v nft >/dev/null || need+=(nftables)
command -v slirp4netns >/dev/null || need+=(slirp4netns)
command -v prlimit >/dev/null || need+=(util-linux)
# The dashboard's browser tests (test/dashboard) drive Debian's chromium headless.
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "nimbus setup: installing Debian packages: ${need[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "nimbus setup: need root to install ${need[*]} (or install them yourself)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

stamp=node_modules/.nimbus-install-stamp
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
  echo "nimbus setup: installing npm dependencies (native modules build from source; a few minutes the first time)"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
  touch "$stamp"
fi

# The TypeScript example carries its own node_modules (it is deployed as a directory).
if [ ! -d examples/greeter-ts/node_modules/ms ]; then
  (cd examples/greeter-ts && npm ci --no-audit --no-fund --loglevel=error)
fi

# The web dashboard (src/dashboard) is built into dist/dashboard; a front end also builds it when stale.
if [ ! -f dist/dashboard/index.html ] || [ -n "$(find src/dashboard -newer dist/dashboard/index.html -print -quit)" ]; then
  scripts/node --import tsx src/dashboard/build.ts
fi
