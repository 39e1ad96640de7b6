// One QEMU process running one microVM: spawned with its own run directory
// (QMP and agent sockets, pid file), connected to both sockets before the guest
// runs (a virtio serial port whose host side is closed reads as end-of-file in
// the guest), then started from boot or from a saved state. Killing it removes
// the run directory too. A VM with network runs inside a filtered network
// namespace of its own (src/sandbox/network): QEMU's user network makes the
// guest's connections from QEMU's process, so they obey the namespace's
// nftables rules, and its 10.0.2.2 alias reaches only that namespace's empty
// loopback. A mount namespace gives QEMU a resolv.conf naming the namespace's
// DNS forwarder (the host's resolver may sit on a refused private address).
//
// QEMU never runs guest code as root: each process gets an unprivileged uid of
// its own from the process engine's allocator (src/sandbox/process/identities.ts),
// which QEMU drops to (-runas, qemu-args.ts) once it has opened its image
// files, /dev/kvm and its sockets; until then it holds only the two
// capabilities that drop needs (setpriv's bounding set). Every VM has its own
// mount namespace. A saved state comes in on an inherited descriptor opened by
// the platform, so the state file stays root's (0600) and no VM can open
// another's memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { openSandboxNetwork, type SandboxNetwork } from '../network/namespace.ts';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { rssOfPid } from '../process/driver.ts';
import { releaseSandboxId, takeSandboxId } from '../process/identities.ts';
import { giveSocket, openDoor } from './door.ts';
import { QmpClient } from './qmp.ts';
import {
  QEMU,
  STATE_FD,
  doorIn,
  instanceArgs,
  machineArgs,
  socketsIn,
  type RamFile,
  type VmConfig,
} from './qemu-args.ts';

/**
 * How to start: paused (to boot), waiting for a saved state on `stateFd` (an
 * open descriptor, passed to QEMU as fd 3), or listening for a live migration
 * from the QEMU running as `migrationFrom`.
 */
export type LaunchStart = 'paused' | { stateFd: number } | { migrationFrom: number };

/** Only what QEMU needs before it drops to its uid: changing uid and gid. */
const INIT_CAPABILITIES = '-all,+setuid,+setgid';

const CONNECT_TIMEOUT_MS = 15_000;

async function connectWhenListening(file: string, child: ChildProcess, deadline: number): Promise<net.Socket> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`QEMU exited before listening on ${path.basename(file)}`);
    try {
      const socket = net.connect(file);
      await once(socket, 'connect');
      return socket;
    } catch (e) {
      if (Date.now() > deadline)
        throw new Error(`QEMU did not listen on ${file} within ${CONNECT_TIMEOUT_MS} ms: ${String(e)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

export class QemuVm {
  private constructor(
    readonly name: string,
    readonly runDir: string,
    private readonly child: ChildProcess,
    readonly pid: number,
    /** The unprivileged uid (and gid) QEMU runs as once it has started. */
    readonly uid: number,
    readonly qmp: QmpClient,
    /** The host end of the agent's virtio serial port. */
    readonly agentSocket: net.Socket,
    /** Resolves with how QEMU ended, once it has. */
    readonly exited: Promise<string>,
    private readonly stderrLog: { text: string },
    /** The VM's own network namespace, when it has network. */
    readonly network: SandboxNetwork | undefined,
    /** For a live migration's target: the socket the source sends its state to. */
    readonly incomingSocket: string | undefined,
  ) {
    child.stdout?.on('data', (c: Buffer) => (this.consoleLog = (this.consoleLog + c.toString('utf8')).slice(-2000)));
  }

  private consoleLog = '';

  /** The end of what the guest printed on its console, for error messages. */
  get consoleTail(): string {
    return this.consoleLog.trim();
  }

  /** Spawns QEMU for `config` as a fresh unprivileged uid and connects to it. */
  static async launch(
    config: VmConfig,
    runDir: string,
    name: string,
    start: LaunchStart,
    ram?: RamFile,
  ): Promise<QemuVm> {
    // 0711: a source QEMU (another uid) passes through to a door in here; nothing is listable.
    await mkdir(runDir, { recursive: true, mode: 0o711 });
    await chmod(path.dirname(runDir), 0o711);
    await chmod(runDir, 0o711);
    const migrationFrom = typeof start === 'object' && 'migrationFrom' in start ? start.migrationFrom : undefined;
    const incomingSocket = migrationFrom === undefined ? undefined : path.join(doorIn(runDir), 'migration.sock');
    if (migrationFrom !== undefined) await openDoor(doorIn(runDir), migrationFrom);
    const how = start === 'paused' ? 'paused' : incomingSocket ? { listen: incomingSocket } : 'incoming-fd';
    const uid = takeSandboxId();
    const args = [...machineArgs(config, config.image, ram), ...instanceArgs(name, socketsIn(runDir), how, uid)];
    const qemu = ['setpriv', `--bounding-set=${INIT_CAPABILITIES}`, '--', QEMU, ...args];
    let network: SandboxNetwork | undefined;
    let command = ['unshare', '--mount', '--propagation', 'private', '--', ...qemu];
    try {
      if (config.network) {
        if (!config.egress) throw new Error('a microVM with network needs the egress policy');
        network = await openSandboxNetwork(config.egress);
        const resolvConf = path.join(runDir, 'resolv.conf');
        await writeFile(resolvConf, `nameserver ${network.dns}\n`, { mode: 0o644 });
        const inMountNs = [
          'unshare',
          '--mount',
          '--propagation',
          'private',
          '--',
          'sh',
          '-c',
          'mount --bind "$0" /etc/resolv.conf && exec "$@"',
          resolvConf,
        ];
        command = ['nsenter', `--net=${network.netnsPath}`, '--', ...inMountNs, ...qemu];
      }
    } catch (e) {
      releaseSandboxId(uid);
      throw e;
    }
    const [program = QEMU, ...programArgs] = command;
    // stdio[3] is STATE_FD inside QEMU.
    const stateFd = typeof start === 'object' && 'stateFd' in start ? [start.stateFd] : [];
    const child = spawn(program, programArgs, {
      stdio: ['ignore', 'pipe', 'pipe', ...stateFd],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    const stderrLog = { text: '' };
    child.stderr?.on('data', (c: Buffer) => (stderrLog.text = (stderrLog.text + c.toString('utf8')).slice(-2000)));
    const stderr = () => stderrLog.text.trim();
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) =>
        resolve(
          signal ? `QEMU killed by ${signal}` : `QEMU exited with code ${code}${stderr() ? `: ${stderr()}` : ''}`,
        ),
      );
      child.once('error', (e) => resolve(`QEMU could not run: ${e.message}`));
    });
    // The uid is free again once nothing runs as it.
    void exited.then(() => releaseSandboxId(uid));
    // The namespace's helpers go with QEMU, however it ends.
    void exited.then(() => network?.close());
    const pid = child.pid;
    try {
      if (!pid) throw new Error(`cannot start ${QEMU}: ${await exited}`);
      await writeFile(path.join(runDir, 'qemu.pid'), `${pid}\n`, { mode: 0o600 });
      const deadline = Date.now() + CONNECT_TIMEOUT_MS;
      const sockets = socketsIn(runDir);
      const qmp = await QmpClient.connect(await connectWhenListening(sockets.qmp, child, deadline));
      const agent = await connectWhenListening(sockets.agent, child, deadline);
      // QEMU answers QMP from its main loop, so by now it listens for the migration (bound as root): hand that socket to the source.
      if (incomingSocket && migrationFrom !== undefined) await giveSocket(incomingSocket, migrationFrom);
      return new QemuVm(name, runDir, child, pid, uid, qmp, agent, exited, stderrLog, network, incomingSocket);
    } catch (e) {
      child.kill('SIGKILL');
      await exited;
      await network?.close();
      await rm(runDir, { recursive: true, force: true });
      throw new Error(`${(e as Error).message}${stderr() ? ` (QEMU: ${stderr().slice(-500)})` : ''}`);
    }
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The guest's serial console (kernel messages, init, node's own stderr). */
  get console(): Readable {
    const stdout = this.child.stdout;
    if (!stdout) throw new Error('QEMU has no stdout pipe');
    return stdout;
  }

  /** QEMU's own recent stderr, for error messages. */
  get stderr(): string {
    return this.stderrLog.text.trim();
  }

  /** Resident memory of the QEMU process (guest RAM it touched, plus QEMU and, under TCG, translated code). */
  rssMb(): Promise<number | undefined> {
    return rssOfPid(this.pid);
  }

  /** Runs a VM launched paused. */
  async start(): Promise<void> {
    await this.qmp.execute('cont');
  }

  /**
   * Makes a VM launched with a state descriptor read its state from it.
   * `ignoreShared`: the state was saved with x-ignore-shared (its RAM is the
   * VM's RAM file, not in the stream); both ends must agree on it.
   */
  async readState(ignoreShared = false): Promise<void> {
    if (ignoreShared) await setIgnoreShared(this.qmp);
    await this.qmp.execute('migrate-incoming', { uri: `fd:${STATE_FD}` });
  }

  /** Waits until the incoming state has loaded, then runs the VM (a state saved from a stopped VM arrives stopped). */
  async runWhenLoaded(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.alive) throw new Error(`loading the VM state failed: ${await this.exited}`);
      // QEMU exits when the state does not fit the machine: its stderr says why.
      const { status } = await this.qmp
        .execute<{ status: string }>('query-status')
        .catch(async () => Promise.reject(new Error(`loading the VM state failed: ${await this.exited}`)));
      if (status === 'running') return;
      if (status === 'paused' || status === 'postmigrate' || status === 'prelaunch') {
        await this.qmp.execute('cont');
        return;
      }
      if (status !== 'inmigrate') throw new Error(`the VM is ${status} after loading its state`);
      if (Date.now() > deadline) throw new Error(`the VM state did not load within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Kills QEMU, waits for it to be gone and removes the run directory. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
    await this.network?.close();
    this.qmp.close();
    this.agentSocket.destroy();
    await rm(this.runDir, { recursive: true, force: true });
  }
}

/**
 * Migration leaves out RAM backed by a file mapped shared (QEMU >= 4.0), and an
 * incoming VM may map that file private (QEMU >= 4.1, "migration: allow private
 * destination ram with x-ignore-shared"): the stream then carries devices only.
 * A capability stays set for the QEMU process's life (a VM restored with it
 * saves with it), so a save names it either way.
 */
export async function setIgnoreShared(qmp: QmpClient, on = true): Promise<void> {
  await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: on }] });
}
