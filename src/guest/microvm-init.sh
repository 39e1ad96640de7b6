#!/bin/sh
# PID 1 of a nimbus microVM (busybox sh in the initramfs). It mounts the
# kernel's filesystems, loads the virtio and ext4 modules in dependency order,
# mounts the read-only runtime disk (node, its libraries, the agent) at
# /nimbus, brings up the network only when the kernel command line says
# nimbus.net=1, and runs the runtime agent on the "nimbus.agent" virtio serial
# port. When the agent ends, the VM powers off. No service manager, no login.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

param() {
  for word in $(cat /proc/cmdline); do
    case "$word" in "nimbus.$1="*) echo "${word#*=}"; return ;; esac
  done
}
fail() {
  echo "nimbus-init: $*"
  poweroff -f
}

while read -r module; do
  insmod "/lib/modules/$module.ko" || fail "cannot load kernel module $module"
done </etc/nimbus/modules
mount -t ext4 -o ro /dev/vda /nimbus || fail "cannot mount the runtime disk /dev/vda"
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
ip link set lo up

if [ "$(param net)" = 1 ]; then
  while read -r module; do
    insmod "/lib/modules/$module.ko" || fail "cannot load kernel module $module"
  done </etc/nimbus/modules-net
  # QEMU's user-mode network: fixed addresses, the host's resolver at .3.
  ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 ||
    fail "cannot configure eth0"
  echo "nameserver 10.0.2.3" >/etc/resolv.conf
fi

# The modules are loaded: their files would only hold guest RAM.
rm -rf /lib/modules

port=
for dir in /sys/class/virtio-ports/*; do
  [ "$(cat "$dir/name" 2>/dev/null)" = nimbus.agent ] && port="/dev/${dir##*/}"
done
[ -n "$port" ] || fail "no virtio serial port named nimbus.agent"

export HOME=/tmp LD_LIBRARY_PATH=/nimbus/lib NIMBUS_AGENT_CHANNEL="dev:$port" NIMBUS_GUEST_CLOCK=/nimbus/bin/date \
  NIMBUS_GUEST_RESEED=/bin/nimbus-reseed
/nimbus/bin/node --max-old-space-size="$(param heap)" /nimbus/agent/agent.cjs
status=$?
if [ "$status" -gt 128 ] && dmesg | grep -q 'Out of memory'; then
  echo "nimbus-init: the guest kernel killed the agent: out of memory"
else
  echo "nimbus-init: the agent exited with status $status"
fi
poweroff -f
