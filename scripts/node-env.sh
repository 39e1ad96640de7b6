# Sourced by the other scripts: puts Node 24 LTS first on PATH. nimbus needs
# Node >= 24 (isolated-vm 7 carries the fix for GHSA-864f-rcv7-6rh4 and
# builds only against it). Where the system's Node is older (Debian ships 20),
# the official Node build is fetched once from the npm registry, where it is
# published as the package node-linux-<arch>: as root into /opt/nimbus (a
# system path, so that sandboxes which bind Node's install read-only see no
# part of the repo), otherwise into .tools/ beside the repo's files; native
# addons then build against its headers (npm_config_nodedir).
NIMBUS_NODE_VERSION=24.22.3
nimbus_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
nimbus_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(nimbus_node_major node)" -lt 24 ]; then
  case "$(uname -m)" in x86_64) nimbus_arch=x64 ;; aarch64) nimbus_arch=arm64 ;; *) nimbus_arch=unknown ;; esac
  if [ "$(id -u)" = 0 ]; then nimbus_tools=/opt/nimbus; else nimbus_tools="$nimbus_root/.tools"; fi
  nimbus_node_dir="$nimbus_tools/node-$NIMBUS_NODE_VERSION"
  if [ ! -x "$nimbus_node_dir/bin/node" ]; then
    if [ "$nimbus_arch" = unknown ] || ! command -v npm >/dev/null; then
      echo "nimbus setup: Node >= 24 is needed and this machine has $(node --version 2>/dev/null || echo none); install Node 24 LTS and run again" >&2
      exit 1
    fi
    echo "nimbus setup: the system's Node is $(node --version 2>/dev/null || echo missing); fetching Node $NIMBUS_NODE_VERSION (npm package node-linux-$nimbus_arch) into $nimbus_tools"
    nimbus_tmp=$(mktemp -d)
    (cd "$nimbus_tmp" && npm pack --silent "node-linux-$nimbus_arch@$NIMBUS_NODE_VERSION" >/dev/null && tar xzf ./*.tgz)
    mkdir -p "$nimbus_tools"
    rm -rf "$nimbus_node_dir.partial"
    mv "$nimbus_tmp/package" "$nimbus_node_dir.partial"
    mv "$nimbus_node_dir.partial" "$nimbus_node_dir"
    rm -rf "$nimbus_tmp"
  fi
  export PATH="$nimbus_node_dir/bin:$PATH"
  export npm_config_nodedir="$nimbus_node_dir"
fi
