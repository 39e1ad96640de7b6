// The QEMU command line of a nimbus microVM: the `microvm` machine with no
// PCI, no firmware option ROMs and no default devices; virtio-mmio devices
// only: a serial port for the agent, the read-only runtime disk, a balloon,
// and a network card only when the function asked for network. The part that
// defines the VM (everything but sockets and names) also names its snapshots.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MicrovmImage } from './image/build.ts';
import type { EgressRules } from '../network/policy.ts';

export const QEMU = 'qemu-system-x86_64';
export type Accelerator = 'kvm' | 'tcg';

export interface VmConfig {
  image: MicrovmImage;
  accelerator: Accelerator;
  /** Guest RAM at boot: the most the balloon can give back to the guest. */
  ceilingMb: number;
  /** What the guest may use: the balloon holds the rest of the ceiling. */
  memoryMb: number;
  cpus: number;
  network: boolean;
  /** With network: where the VM may connect; QEMU then runs in a filtered network namespace of its own (qemu-vm.ts). */
  egress?: EgressRules;
  /** V8's old-space limit for the agent, MB. */
  heapMb: number;
}

export interface VmSockets {
  qmp: string;
  agent: string;
}

/** CPU model per accelerator: TCG emulates the newest it knows; this KVM lacks an MSR that `host` sets. */
const CPU_MODEL: Record<Accelerator, string> = { tcg: 'max', kvm: 'host,arch-capabilities=off' };

let tscKhz: number | undefined;
/**
 * The host's TSC rate in kHz. Under TCG the guest reads the host's TSC, and
 * calibrating it against the emulated PIT fails on a busy host (the kernel then
 * hangs waiting for timer ticks), so the guest is told the rate instead:
 * NIMBUS_MICROVM_TSC_KHZ, else /proc/cpuinfo's "cpu MHz" (the calibrated TSC
 * rate on hosts with tsc_known_freq; a running frequency on some others).
 */
export function hostTscKhz(): number {
  if (tscKhz === undefined) {
    const configured = Number(process.env.NIMBUS_MICROVM_TSC_KHZ);
    const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    tscKhz = configured > 0 ? Math.round(configured) : mhz ? Math.round(Number(mhz) * 1000) : 2_000_000;
  }
  return tscKhz;
}

let qemuVersion: string | undefined;
export function qemuVersionLine(): string {
  qemuVersion ??= execFileSync(QEMU, ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? 'unknown';
  return qemuVersion;
}

function kernelCommandLine(config: VmConfig): string {
  const words = ['console=ttyS0', 'quiet', 'panic=-1', 'reboot=t', 'tsc=reliable', `tsc_early_khz=${hostTscKhz()}`];
  words.push(`nimbus.heap=${config.heapMb}`, `nimbus.net=${config.network ? 1 : 0}`);
  return words.join(' ');
}

type ImageFiles = Pick<MicrovmImage, 'vmlinux' | 'initrd' | 'runtimeDisk'>;

/**
 * Guest RAM in a file (function snapshots, function-snapshots.ts): `shared`
 * maps it MAP_SHARED, so the guest's writes land in the file (the VM that
 * makes a snapshot); otherwise MAP_PRIVATE, a copy-on-write view of the file
 * that no write of this guest reaches (every restored VM). The backend takes
 * the default RAM's id, so a state saved from a VM with anonymous RAM loads
 * into it (migration matches RAM blocks by that id).
 */
export interface RamFile {
  path: string;
  shared: boolean;
}
const RAM_ID = 'microvm.ram';

/** The arguments that define the virtual machine (the same for a snapshot and every VM restored from it). */
export function machineArgs(config: VmConfig, files: ImageFiles = config.image, ram?: RamFile): string[] {
  // TCG's translation cache defaults to 1 GiB, which QEMU's RSS grows into: 64 MiB holds a guest's working set.
  const accel = config.accelerator === 'tcg' ? 'tcg,thread=multi,tb-size=64' : 'kvm';
  const args = [
    '-M',
    'microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=on',
    '-accel',
    accel,
    '-cpu',
    CPU_MODEL[config.accelerator],
  ];
  args.push('-m', String(config.ceilingMb), '-smp', String(config.cpus));
  if (ram) {
    if (ram.path.includes(',')) throw new Error(`a guest RAM file path may not hold a comma: ${ram.path}`);
    const backend = `memory-backend-file,id=${RAM_ID},size=${config.ceilingMb}M,mem-path=${ram.path}`;
    args.push('-object', `${backend},share=${ram.shared ? 'on' : 'off'}`, '-machine', `memory-backend=${RAM_ID}`);
  }
  args.push('-nodefaults', '-no-user-config', '-nographic', '-no-reboot');
  args.push('-kernel', files.vmlinux, '-initrd', files.initrd, '-append', kernelCommandLine(config));
  args.push('-serial', 'stdio');
  args.push('-device', 'virtio-serial-device', '-device', 'virtserialport,chardev=agent,name=nimbus.agent');
  args.push(
    '-drive',
    `if=none,id=runtime,file=${files.runtimeDisk},format=raw,readonly=on`,
    '-device',
    'virtio-blk-device,drive=runtime',
  );
  args.push('-device', 'virtio-balloon-device,id=balloon0');
  if (config.network) args.push('-netdev', 'user,id=net0', '-device', 'virtio-net-device,netdev=net0');
  return args;
}

/**
 * How a QEMU process starts: paused (booting), waiting for a saved state on
 * an inherited descriptor (fd 3, restore), or listening on a unix socket for a
 * live migration (bound while QEMU is still root, before it drops its uid).
 */
export type VmStart = 'paused' | 'incoming-fd' | { listen: string };
/** The descriptor a restored VM reads its saved state from (spawned as stdio[3]). */
export const STATE_FD = 3;

/**
 * The arguments of one QEMU process: its control sockets, how it starts, and
 * its wall. QEMU opens what it needs (image files, /dev/kvm, its sockets) as
 * root, then `-runas uid:gid` drops to the VM's own unprivileged uid before the
 * main loop, so no guest instruction and no device emulation of guest I/O ever
 * runs as root; the drop clears every capability, and the seccomp filter sets
 * no_new_privs. The filter refuses spawning (spawn=deny: VM states go through
 * descriptors and sockets, never `exec:`), obsolete calls and scheduler
 * changes. elevateprivileges must stay `allow`: QEMU installs the filter before
 * -runas calls setuid, which `deny` would kill; after the drop, with no
 * capabilities and no_new_privs, set*uid can only choose among the VM's own ids.
 */
export function instanceArgs(name: string, sockets: VmSockets, start: VmStart, uid: number): string[] {
  const args = [
    '-name',
    `nimbus-${name}`,
    '-sandbox',
    'on,obsolete=deny,elevateprivileges=allow,resourcecontrol=deny,spawn=deny',
    '-runas',
    `${uid}:${uid}`,
  ];
  args.push('-chardev', `socket,id=qmp,path=${sockets.qmp},server=on,wait=off`, '-mon', 'chardev=qmp,mode=control');
  args.push('-chardev', `socket,id=agent,path=${sockets.agent},server=on,wait=off`);
  if (start === 'paused') args.push('-S');
  else if (start === 'incoming-fd') args.push('-incoming', 'defer');
  else args.push('-incoming', `unix:${start.listen}`);
  return args;
}

/** Names a VM state: the machine arguments (image files by their hash, not their path) and the QEMU build. */
export function machineKey(config: VmConfig): string {
  const placeholders = { vmlinux: '<vmlinux>', initrd: '<initrd>', runtimeDisk: '<runtime>' };
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({
      image: config.image.hash,
      qemu: qemuVersionLine(),
      args: machineArgs(config, placeholders),
      balloonMb: config.memoryMb,
    }),
  );
  return hash.digest('hex').slice(0, 16);
}

export function socketsIn(runDir: string): VmSockets {
  return { qmp: path.join(runDir, 'qmp.sock'), agent: path.join(runDir, 'agent.sock') };
}

/** A directory in a run directory that one other uid may pass through (a door): a socket in it is given to that uid alone. */
export function doorIn(runDir: string): string {
  return path.join(runDir, 'door');
}
