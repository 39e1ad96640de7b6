// The QEMU process under a microVM sandbox, as the AgentSandbox watches it
// (an AgentProcess): the agent's channel, the guest console as its stderr,
// exit, kill, memory and why it died. Live migration swaps the QEMU process
// underneath (adopt): console, exit and pid follow the new one, while the
// channel (a GuestLink that outlives any one QEMU) stays the same.
import { PassThrough, type Duplex } from 'node:stream';
import type { AgentProcess } from '../agent-sandbox.ts';
import type { GuestLink } from './guest-link.ts';
import type { QemuVm } from './qemu-vm.ts';

const GUEST_OOM = /Out of memory: Killed process|nimbus-init: the guest kernel killed the agent: out of memory/;

export class VmProcess implements AgentProcess {
  readonly channel: Duplex;
  /** The guest console of whichever QEMU runs the sandbox now. */
  readonly stderr = new PassThrough();
  readonly exited: Promise<string>;
  private exitedResolve!: (how: string) => void;
  private current: QemuVm;
  private consoleDone: Promise<void> = Promise.resolve();
  private consoleTail = '';
  private outOfMemory = false;

  constructor(
    vm: QemuVm,
    private readonly link: GuestLink,
    readonly details: Record<string, unknown>,
  ) {
    this.channel = link.channel;
    this.exited = new Promise<string>((resolve) => (this.exitedResolve = resolve));
    this.current = vm;
    this.adopt(vm, 0);
  }

  /** The QEMU process running the sandbox now. */
  get vm(): QemuVm {
    return this.current;
  }

  /** Makes `vm` the one whose console, exit and pid this sandbox reports. */
  adopt(vm: QemuVm, migrations: number): void {
    this.current = vm;
    this.details.pid = vm.pid;
    this.details.migrations = migrations;
    const stream = vm.console;
    this.consoleDone = new Promise((resolve) => stream.once('close', () => resolve()));
    stream.on('data', (chunk: Buffer) => {
      this.consoleTail = (this.consoleTail + chunk.toString('utf8')).slice(-4096);
      if (GUEST_OOM.test(this.consoleTail)) this.outOfMemory = true;
      this.stderr.write(chunk);
    });
    void vm.exited.then((how) => {
      if (this.current === vm) this.exitedResolve(how);
    });
  }

  async kill(): Promise<void> {
    await this.current.kill();
  }

  /** Node's RSS inside the guest (it cannot pass the guest's RAM); QEMU's own RSS goes to details. */
  memoryMb(): Promise<number | undefined> {
    void this.current.rssMb().then((mb) => (this.details.qemuRssMb = mb === undefined ? undefined : Math.round(mb)));
    return this.link.guestRssMb();
  }

  /** The guest kernel's OOM killer shows on the console, which may lag the exit by a moment. */
  async deathCause(): Promise<'memory' | undefined> {
    await Promise.race([this.consoleDone, new Promise((resolve) => setTimeout(resolve, 1000))]);
    return this.outOfMemory ? 'memory' : undefined;
  }
}
