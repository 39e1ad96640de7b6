// Bringing a microVM to a ready agent, the two ways: booting the kernel (init,
// modules, node, the agent), or loading a saved VM state in which the agent is
// already up and waiting; and saving such a state (QEMU's migration stream
// into a file, with the VM stopped). Both end with the agent answering a ping.
// QEMU runs as its own uid and may not spawn, so states move through
// descriptors and sockets the platform (root) opens: a restore reads the state
// file on an inherited descriptor, a save streams into a socket the platform
// listens on behind a door (door.ts) and writes the file itself, 0600.
// A function snapshot's RAM is a file of its own (qemu-args.ts RamFile): QEMU
// opens it while still root, and the saved stream then holds devices only.
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { giveSocket, openDoor } from './door.ts';
import { GuestLink } from './guest-link.ts';
import { setGuestMemory } from './balloon.ts';
import { QemuVm, setIgnoreShared } from './qemu-vm.ts';
import { doorIn, type RamFile, type VmConfig } from './qemu-args.ts';

export interface StartedVm {
  vm: QemuVm;
  link: GuestLink;
  /** Launch to ready agent, ms. */
  readyMs: number;
}

const BALLOON_TIMEOUT_MS = 60_000;
const MIGRATION_POLL_MS = 50;

/** Waits for the agent to answer a ping; fails early if QEMU exits. */
async function agentReady(vm: QemuVm, link: GuestLink, timeoutMs: number): Promise<void> {
  const exited = vm.exited.then((how) => Promise.reject(new Error(`the VM stopped before its agent was up: ${how}`)));
  exited.catch(() => undefined);
  const answer = await Promise.race([link.request({ type: 'ping', id: link.newId() }, timeoutMs), exited]).catch(
    (e: unknown) => {
      const said = [vm.stderr && `QEMU: ${vm.stderr}`, vm.consoleTail && `guest console: ${vm.consoleTail}`]
        .filter(Boolean)
        .join('; ');
      throw new Error(`${(e as Error).message}${said ? ` (${said.slice(-600)})` : ' (the guest printed nothing)'}`);
    },
  );
  if (answer.type !== 'pong') throw new Error(`the guest agent answered a ping with ${answer.type}`);
}

async function withCleanup<T>(vm: QemuVm, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    await vm.kill();
    throw e;
  }
}

/** Boots a VM from its kernel to a ready agent, with the balloon at config.memoryMb. */
export async function bootVm(config: VmConfig, runDir: string, name: string, timeoutMs: number): Promise<StartedVm> {
  const started = Date.now();
  const vm = await QemuVm.launch(config, runDir, name, 'paused');
  return withCleanup(vm, async () => {
    const link = new GuestLink(vm.agentSocket);
    await vm.start();
    await agentReady(vm, link, timeoutMs);
    if (config.memoryMb < config.ceilingMb) {
      const reached = await setGuestMemory(vm.qmp, config.memoryMb, BALLOON_TIMEOUT_MS);
      if (reached !== config.memoryMb) throw new Error(`the balloon reached ${reached} MB, not ${config.memoryMb} MB`);
    }
    return { vm, link, readyMs: Date.now() - started };
  });
}

/**
 * Guest RAM of a VM being restored: `file` with `ignoreShared` when the state
 * was saved without its RAM (a function snapshot, mapped private), or a file
 * mapped shared that the streamed RAM is written into (a function snapshot
 * being made from the machine's state).
 */
export interface RestoreRam {
  file: RamFile;
  ignoreShared: boolean;
}

/** Starts a VM from a state saved by saveVm (same config); resolves once its agent answers. */
export async function restoreVm(
  config: VmConfig,
  stateFile: string,
  runDir: string,
  name: string,
  timeoutMs: number,
  ram?: RestoreRam,
): Promise<StartedVm> {
  const started = Date.now();
  // Each restore reads the file through a descriptor of its own: QEMU never gets its path, nor the right to open it.
  const state = await open(stateFile, 'r');
  const vm = await QemuVm.launch(config, runDir, name, { stateFd: state.fd }, ram?.file).finally(() => state.close());
  return withCleanup(vm, async () => {
    const link = new GuestLink(vm.agentSocket);
    await vm.readState(ram?.ignoreShared);
    await vm.runWhenLoaded(timeoutMs);
    await agentReady(vm, link, timeoutMs);
    return { vm, link, readyMs: Date.now() - started };
  });
}

/** Waits for the outgoing migration of `vm` to complete; returns QEMU's figures. */
export async function migrationDone(vm: QemuVm, timeoutMs: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await vm.qmp.execute<{ status?: string; 'error-desc'?: string } & Record<string, unknown>>(
      'query-migrate',
    );
    if (info.status === 'completed') return info;
    if (info.status === 'failed' || info.status === 'cancelled')
      throw new Error(`migration ${info.status}: ${info['error-desc'] ?? 'no reason given'}`);
    if (Date.now() > deadline) throw new Error(`migration not done within ${timeoutMs} ms (status ${info.status})`);
    await new Promise((resolve) => setTimeout(resolve, MIGRATION_POLL_MS));
  }
}

/** Lets migrations use the host's full speed (QEMU's default is 32 MiB/s). */
export async function unthrottleMigration(vm: QemuVm): Promise<void> {
  await vm.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 8 * 1024 * 1024 * 1024, 'downtime-limit': 100 });
}

/**
 * Stops the VM and writes its whole state to `file` (atomically, 0600): QEMU
 * streams it to a socket only its uid may reach. `ignoreShared`: RAM mapped
 * shared from a file stays out of the stream (it is already on disk).
 */
export async function saveVm(vm: QemuVm, file: string, timeoutMs: number, ignoreShared = false): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const door = doorIn(vm.runDir);
  const socket = path.join(door, 'save.sock');
  const server = net.createServer();
  try {
    await openDoor(door, vm.uid);
    const written = new Promise<void>((resolve, reject) => {
      server.once('connection', (stream) => {
        server.close();
        pipeline(stream, createWriteStream(tmp, { mode: 0o600 })).then(resolve, reject);
      });
      server.once('error', reject);
    });
    written.catch(() => undefined);
    await new Promise<void>((resolve, reject) => server.listen(socket, resolve).once('error', reject));
    await giveSocket(socket, vm.uid);
    await vm.qmp.execute('stop');
    await unthrottleMigration(vm);
    await setIgnoreShared(vm.qmp, ignoreShared);
    await vm.qmp.execute('migrate', { uri: `unix:${socket}` });
    await migrationDone(vm, timeoutMs);
    await written;
    await rename(tmp, file);
  } finally {
    server.close();
    await rm(tmp, { force: true });
    await rm(door, { recursive: true, force: true });
  }
}
