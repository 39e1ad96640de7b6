// Live migration of a running microVM to a new QEMU process (a new uid): the
// target listens on a unix socket behind a door that only the source's uid may
// pass (door.ts), the source streams its RAM while the guest keeps running
// (then pauses it for the last dirty pages and device state), and the agent
// link moves to the target's serial port. The guest never restarts: module
// state in the function survives. On failure the source keeps running.
import type { GuestLink } from './guest-link.ts';
import { QemuVm, setIgnoreShared } from './qemu-vm.ts';
import type { VmConfig } from './qemu-args.ts';
import { migrationDone, unthrottleMigration } from './vm-start.ts';

export interface LiveMigration {
  target: QemuVm;
  totalMs: number;
  downtimeMs?: number;
  transferredMb?: number;
}

export async function liveMigrate(
  source: QemuVm,
  link: GuestLink,
  config: VmConfig,
  runDir: string,
  name: string,
  timeoutMs: number,
): Promise<LiveMigration> {
  const started = Date.now();
  const target = await QemuVm.launch(config, runDir, name, { migrationFrom: source.uid });
  try {
    if (!target.incomingSocket) throw new Error('the migration target has no incoming socket');
    link.hold();
    await unthrottleMigration(source);
    // A VM restored from a function snapshot came in with x-ignore-shared on; its RAM (a private map) moves in full.
    await setIgnoreShared(source.qmp, false);
    await source.qmp.execute('migrate', { uri: `unix:${target.incomingSocket}` });
    const stats = await migrationDone(source, timeoutMs);
    await target.runWhenLoaded(timeoutMs);
    link.reattach(target.agentSocket);
    const ram = stats.ram as { transferred?: number } | undefined;
    return {
      target,
      totalMs: Date.now() - started,
      downtimeMs: typeof stats.downtime === 'number' ? stats.downtime : undefined,
      transferredMb:
        ram?.transferred !== undefined ? Math.round((ram.transferred / (1024 * 1024)) * 10) / 10 : undefined,
    };
  } catch (e) {
    link.release();
    await target.kill();
    if (source.alive) {
      const { status } = await source.qmp
        .execute<{ status: string }>('query-status')
        .catch(() => ({ status: 'unknown' }));
      if (status === 'postmigrate' || status === 'paused') await source.qmp.execute('cont').catch(() => undefined);
    }
    throw e;
  }
}
