// The default seccomp profile of every container: an allowlist. Anything not
// named below fails with EPERM, so mount, ptrace, kexec, bpf, keyctl,
// unshare/setns, reboot, module loading, clock setting, perf, userfaultfd and
// open_by_handle_at are all denied. The list is what Node 20 and ordinary
// userland (shells, child processes, sockets, threads) call, checked by tracing
// node and by test/sandbox/container.test.ts running functions under it.
import type { OciSeccomp } from './oci-spec.ts';

const PROCESS = [
  'arch_prctl', 'brk', 'capget', 'capset', 'execve', 'execveat', 'exit', 'exit_group', 'fork', 'vfork',
  'getpid', 'getppid', 'getpgid', 'getpgrp', 'getsid', 'setsid', 'setpgid', 'gettid', 'set_tid_address',
  'set_robust_list', 'get_robust_list', 'rseq', 'futex', 'futex_waitv', 'wait4', 'waitid',
  'kill', 'tkill', 'tgkill', 'pidfd_open', 'pidfd_send_signal', 'prctl', 'prlimit64', 'getrlimit', 'setrlimit', 'getrusage',
  'sched_getaffinity', 'sched_setaffinity', 'sched_yield', 'sched_getparam', 'sched_setparam', 'sched_getscheduler',
  'sched_setscheduler', 'sched_get_priority_max', 'sched_get_priority_min', 'sched_rr_get_interval', 'sched_getattr', 'sched_setattr',
  'getpriority', 'setpriority', 'ioprio_get', 'ioprio_set', 'uname', 'sysinfo', 'getcpu', 'getrandom', 'membarrier', 'restart_syscall',
];
const SIGNALS_TIME = [
  'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigpending', 'rt_sigtimedwait', 'rt_sigqueueinfo',
  'rt_tgsigqueueinfo', 'sigaltstack', 'pause', 'alarm', 'setitimer', 'getitimer', 'nanosleep', 'clock_nanosleep', 'clock_gettime',
  'clock_getres', 'gettimeofday', 'time', 'times', 'timer_create', 'timer_settime', 'timer_gettime', 'timer_getoverrun',
  'timer_delete', 'timerfd_create', 'timerfd_settime', 'timerfd_gettime', 'signalfd', 'signalfd4', 'eventfd', 'eventfd2',
];
const IDENTITY = [
  'getuid', 'geteuid', 'getgid', 'getegid', 'getgroups', 'getresuid', 'getresgid', 'setuid', 'setgid', 'setreuid',
  'setregid', 'setresuid', 'setresgid', 'setgroups', 'setfsuid', 'setfsgid',
];
const MEMORY = [
  'mmap', 'munmap', 'mprotect', 'mremap', 'madvise', 'msync', 'mincore', 'mlock', 'mlock2', 'munlock', 'mlockall', 'munlockall',
  'memfd_create', 'get_mempolicy', 'set_mempolicy', 'mbind', 'pkey_alloc', 'pkey_free', 'pkey_mprotect',
];
const FILES = [
  'read', 'write', 'readv', 'writev', 'pread64', 'pwrite64', 'preadv', 'pwritev', 'preadv2', 'pwritev2', 'open', 'openat', 'openat2',
  'creat', 'close', 'close_range', 'lseek', 'stat', 'fstat', 'lstat', 'newfstatat', 'statx', 'statfs', 'fstatfs', 'access',
  'faccessat', 'faccessat2', 'readlink', 'readlinkat', 'getdents', 'getdents64', 'getcwd', 'chdir', 'fchdir', 'mkdir', 'mkdirat',
  'rmdir', 'unlink', 'unlinkat', 'rename', 'renameat', 'renameat2', 'link', 'linkat', 'symlink', 'symlinkat', 'chmod', 'fchmod',
  'fchmodat', 'chown', 'fchown', 'lchown', 'fchownat', 'truncate', 'ftruncate', 'fallocate', 'fsync', 'fdatasync', 'sync',
  'syncfs', 'sync_file_range', 'utime', 'utimes', 'utimensat', 'futimesat', 'umask', 'dup', 'dup2', 'dup3', 'fcntl', 'flock',
  'ioctl', 'pipe', 'pipe2', 'splice', 'tee', 'vmsplice', 'sendfile', 'copy_file_range', 'fadvise64', 'readahead', 'mknod',
  'mknodat', 'getxattr', 'lgetxattr', 'fgetxattr', 'listxattr', 'llistxattr', 'flistxattr', 'setxattr', 'lsetxattr',
  'fsetxattr', 'removexattr', 'lremovexattr', 'fremovexattr', 'inotify_init', 'inotify_init1', 'inotify_add_watch',
  'inotify_rm_watch', 'io_setup', 'io_destroy', 'io_submit', 'io_getevents', 'io_pgetevents', 'io_cancel',
];
const POLLING_SOCKETS_IPC = [
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2', 'poll', 'ppoll', 'select', 'pselect6',
  'socket', 'socketpair', 'bind', 'listen', 'accept', 'accept4', 'connect', 'getsockname', 'getpeername', 'sendto', 'recvfrom',
  'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'shutdown', 'setsockopt', 'getsockopt', 'shmget', 'shmat', 'shmdt', 'shmctl',
  'semget', 'semop', 'semctl', 'semtimedop', 'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'mq_open', 'mq_unlink', 'mq_timedsend',
  'mq_timedreceive', 'mq_notify', 'mq_getsetattr',
];

/** Every namespace flag of clone(2): creating namespaces is denied (no unshare). */
const CLONE_NEW_NAMESPACES = 0x7e020000;
const EPERM = 1;
const ENOSYS = 38;

const ARCHITECTURES: Partial<Record<NodeJS.Architecture, string>> = { x64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64' };

/** Syscall names the profile allows unconditionally (clone is allowed without namespace flags). */
export const ALLOWED_SYSCALLS: readonly string[] = [...PROCESS, ...SIGNALS_TIME, ...IDENTITY, ...MEMORY, ...FILES, ...POLLING_SOCKETS_IPC];

export function seccompProfile(arch: NodeJS.Architecture = process.arch): OciSeccomp {
  const scmpArch = ARCHITECTURES[arch];
  if (!scmpArch) throw new Error(`no seccomp profile for CPU architecture ${arch}`);
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: [scmpArch],
    syscalls: [
      { names: [...ALLOWED_SYSCALLS], action: 'SCMP_ACT_ALLOW' },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NEW_NAMESPACES, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      // clone3 passes its flags in memory, where seccomp cannot see them: ENOSYS
      // makes glibc fall back to clone. io_uring: ENOSYS makes libuv use its
      // thread pool, and io_uring's kernel surface stays out of reach.
      { names: ['clone3', 'io_uring_setup', 'io_uring_enter', 'io_uring_register'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    ],
  };
}
