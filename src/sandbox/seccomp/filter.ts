// The system-call filter of nimbus's bubblewrap sandboxes: the process
// engine's sandboxes, the isolate pools and the build workers all get this one
// small classic-BPF program, which bubblewrap installs (--seccomp FD) right
// before it runs their command. They share the host's kernel, so the calls
// that are the usual way into kernel bugs and that no function or build needs
// answer EPERM: io_uring (enabled for unprivileged users on the project's
// machines; libuv falls back to its thread pool), the key management calls
// (their quotas are per uid), userfaultfd, perf_event_open, bpf, kexec, module
// loading and open_by_handle_at. Anything but x86-64 calls (x32, i386) kills
// the process, so the numbers cannot be dodged through another ABI. Only built
// on x86-64 hosts: elsewhere sandboxes run without it (the numbers differ).
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

/** x86-64 system call numbers refused with EPERM. */
export const DENIED_SYSCALLS: Readonly<Record<string, number>> = {
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  keyctl: 250,
  add_key: 248,
  request_key: 249,
  userfaultfd: 323,
  perf_event_open: 298,
  bpf: 321,
  kexec_load: 246,
  kexec_file_load: 320,
  init_module: 175,
  finit_module: 313,
  delete_module: 176,
  open_by_handle_at: 304,
};

const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
const RET_ALLOW = 0x7fff0000;
const RET_KILL_PROCESS = 0x80000000;
const RET_EPERM = 0x00050000 | 1;
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const RET_K = 0x06;

/** The filter as bubblewrap reads it (struct sock_filter[], host byte order), or undefined off x86-64. */
export function seccompFilter(arch: string = process.arch): Buffer | undefined {
  if (arch !== 'x64') return undefined;
  const numbers = Object.values(DENIED_SYSCALLS);
  const eperm = 5 + numbers.length + 1;
  const program: [number, number, number, number][] = [
    [LD_W_ABS, 0, 0, 4], // seccomp_data.arch
    [JEQ_K, 1, 0, AUDIT_ARCH_X86_64],
    [RET_K, 0, 0, RET_KILL_PROCESS],
    [LD_W_ABS, 0, 0, 0], // seccomp_data.nr
    [JGE_K, eperm - 5, 0, X32_SYSCALL_BIT],
    ...numbers.map((nr, i): [number, number, number, number] => [JEQ_K, eperm - (6 + i), 0, nr]),
    [RET_K, 0, 0, RET_ALLOW],
    [RET_K, 0, 0, RET_EPERM],
  ];
  const out = Buffer.alloc(program.length * 8);
  program.forEach(([code, jt, jf, k], i) => {
    out.writeUInt16LE(code, i * 8);
    out.writeUInt8(jt, i * 8 + 2);
    out.writeUInt8(jf, i * 8 + 3);
    out.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return out;
}

/**
 * The bubblewrap arguments that read the filter from descriptor `fd` of a
 * spawned child (none off x86-64). The caller spawns with a pipe there and
 * hands the filter over with sendFilter; bubblewrap reads it to the end and
 * closes it before the sandbox's command runs, so the command never holds it.
 */
export function seccompArgs(fd: number): string[] {
  return seccompFilter() ? ['--seccomp', String(fd)] : [];
}

/** Writes the filter into the child's pipe on `fd` and closes it (seccompArgs). */
export function sendFilter(child: ChildProcess, fd: number): void {
  const filter = seccompFilter();
  const pipe = child.stdio[fd] as Writable | null | undefined;
  if (!filter || !pipe) return;
  pipe.on('error', () => undefined); // a child that died before reading it reports its own exit
  pipe.end(filter);
}
