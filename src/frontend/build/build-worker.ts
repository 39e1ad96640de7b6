// One build worker: a sandboxed Node process with esbuild (sandbox-command.ts)
// in its own memory cgroup, with its own workspace directory, used for exactly
// one build and then disposed, so that no upload ever meets another. It can be
// started ahead of a deploy (warm) and given its upload later: the workspace
// is bound into the sandbox, so files moved into it afterwards show through.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NimbusError } from '../../shared/errors.ts';
import { workspacePrefix } from './leftovers.ts';
import { MemoryCgroup } from './memory-cgroup.ts';
import { sendFilter } from '../../sandbox/seccomp/filter.ts';
import { SECCOMP_FD, sandboxCommand, type BuildTools } from './sandbox-command.ts';
import { READY } from './worker/protocol.ts';

export interface WorkerOptions {
  tools: BuildTools;
  memoryMb: number;
  /** Host uid the build runs as (root platforms only). */
  uid?: number;
  /** Unique among this platform's workers: names the cgroup. */
  name: string;
}

/** What a finished (or killed) worker left: its stdout, the head of its stderr, how it ended. */
export interface WorkerOutcome {
  stdout: Buffer;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  overMemory: boolean;
  outputTooLarge: boolean;
}

const STDERR_KEEP = 16 * 1024;

/** How long a worker may take to start (Node and esbuild), before its build's own clock starts. */
const START_TIMEOUT_MS = 60_000;

export class BuildWorker {
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private ready: Promise<boolean>;
  private stdout: Buffer[] = [];
  private stdoutBytes = 0;
  private maxOutputBytes = Infinity;
  private stderr = '';
  private outputTooLarge = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly workspace: string,
    private readonly cgroup: MemoryCgroup | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: null, signal: null }));
    });
    let isReady: (ok: boolean) => void = () => undefined;
    this.ready = new Promise((resolve) => (isReady = resolve));
    void this.exited.then(() => isReady(false));
    const readyLine = Buffer.from(`${READY}\n`);
    let seen = false;
    child.stdout?.on('data', (c: Buffer) => {
      if (!seen) {
        const head = Buffer.concat([...this.stdout, c]);
        this.stdout = [];
        if (head.length < readyLine.length) return void this.stdout.push(head);
        if (!head.subarray(0, readyLine.length).equals(readyLine)) return this.kill();
        seen = true;
        isReady(true);
        c = head.subarray(readyLine.length);
      }
      this.stdoutBytes += c.length;
      if (this.stdoutBytes > this.maxOutputBytes) {
        this.outputTooLarge = true;
        this.kill();
      } else this.stdout.push(c);
    });
    child.stderr?.on('data', (c: Buffer) => {
      if (this.stderr.length < STDERR_KEEP)
        this.stderr += c.toString('utf8').slice(0, STDERR_KEEP - this.stderr.length);
    });
  }

  /** Starts a worker; it waits for its request on stdin. */
  static async start(o: WorkerOptions): Promise<BuildWorker> {
    // The workspace's outer directory stays root-only (0700): no other host
    // user can look in; the sandbox gets the inner one, readable by its uid.
    const outer = await mkdtemp(path.join(os.tmpdir(), workspacePrefix(process.pid)));
    const workspace = path.join(outer, 'workspace');
    await mkdir(workspace, { mode: 0o755 });
    await chmod(workspace, 0o755);
    const cgroup = o.uid === undefined ? undefined : await MemoryCgroup.create(o.name, o.memoryMb);
    const group = typeof cgroup === 'string' ? undefined : cgroup;
    const { command, args } = sandboxCommand(o.tools, workspace, {
      memoryMb: o.memoryMb,
      ...(o.uid !== undefined ? { uid: o.uid } : {}),
    });
    // A shell puts itself in the cgroup and then becomes bubblewrap, so that
    // nothing the build starts can run outside the limit, not even briefly;
    // umask 022 lets the build's uid through the directories bubblewrap makes.
    const script = group ? 'umask 022 && echo $$ > "$1" && shift && exec "$@"' : 'umask 022 && shift && exec "$@"';
    // fd 4: the system-call filter, over a pipe that bubblewrap reads and closes.
    const child = spawn('/bin/sh', ['-c', script, 'sh', group?.procsFile ?? '-', command, ...args], {
      stdio: ['pipe', 'pipe', 'pipe', 'ignore', 'pipe'],
    });
    sendFilter(child, SECCOMP_FD);
    child.stdin?.on('error', () => undefined);
    const worker = new BuildWorker(child, workspace, group);
    worker.hold(false);
    return worker;
  }

  /** The host directory the upload goes into (shown to the build as INSIDE.upload). */
  get uploadDir(): string {
    return path.join(this.workspace, 'upload');
  }

  /** Moves an unpacked upload (a directory on the same filesystem) into the workspace. */
  async adopt(dir: string): Promise<void> {
    await chmod(dir, 0o755);
    await rename(dir, this.uploadDir);
  }

  /** An empty upload, for a build from one source file sent in the request. */
  async emptyUpload(): Promise<void> {
    await mkdir(this.uploadDir, { mode: 0o755 });
    await chmod(this.uploadDir, 0o755);
  }

  /**
   * Waits for the worker to be ready, sends the request and waits for the
   * worker to finish, at most timeoutMs from the request; stdout is cut at
   * maxOutputBytes. A worker that cannot start is the platform's failure.
   */
  async run(request: unknown, timeoutMs: number, maxOutputBytes: number): Promise<WorkerOutcome> {
    this.hold(true);
    this.maxOutputBytes = maxOutputBytes;
    const startTimer = setTimeout(() => this.kill(), START_TIMEOUT_MS);
    const ready = await this.ready;
    clearTimeout(startTimer);
    if (!ready) {
      const { code, signal } = await this.exited;
      const why =
        this.stderr.trim().split('\n')[0]?.slice(0, 300) || (signal ? `signal ${signal}` : `exit code ${code}`);
      throw new NimbusError(
        'unavailable',
        `the build sandbox did not start (${why}); the deploy was not built, try again`,
      );
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.kill();
    }, timeoutMs);
    this.child.stdin?.end(JSON.stringify(request));
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    const overMemory = (await this.cgroup?.overLimit()) ?? false;
    return {
      stdout: Buffer.concat(this.stdout),
      stderr: this.stderr,
      code,
      signal,
      timedOut,
      overMemory,
      outputTooLarge: this.outputTooLarge,
    };
  }

  /**
   * Whether the worker keeps the platform's event loop alive: a waiting (warm)
   * worker does not, so that it never holds up the exit of a process that did
   * not close its platform (bubblewrap's --die-with-parent then ends it).
   */
  private hold(on: boolean): void {
    for (const handle of [this.child, this.child.stdin, this.child.stdout, this.child.stderr]) {
      const h = handle as { ref?: () => void; unref?: () => void } | null;
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }

  /** Whether its process still runs (a warm worker can die while it waits). */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  /** Kills whatever still runs, removes the cgroup and the workspace with the upload in it. */
  async dispose(): Promise<void> {
    this.hold(true);
    this.kill();
    await this.exited;
    await this.cgroup?.remove({ kill: true });
    await rm(path.dirname(this.workspace), { recursive: true, force: true });
  }
}
