// Which accelerator runs the guests: KVM when it can really boot one, else TCG
// (QEMU's dynamic binary translation). /dev/kvm existing and opening is not
// enough: on some hosts it accepts VMs but emulates guest code in software and
// dies on instructions it cannot emulate, so the probe times a real boot to a
// ready agent against a deadline. The result is cached per host boot, QEMU
// build and image (in the data directory and the machine cache).
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import path from 'node:path';
import type { MicrovmImage } from './image/build.ts';
import { exists, sharedCacheDir } from './image/shared-cache.ts';
import { qemuVersionLine, type Accelerator } from './qemu-args.ts';
import { bootVm } from './vm-start.ts';

export interface AcceleratorChoice {
  accelerator: Accelerator;
  reason: string;
  probedAt: string;
}

/** How long a KVM guest may take to reach a ready agent (TCG takes ~10 s on a 2-core host; real KVM well under 2 s). */
export const KVM_BOOT_DEADLINE_MS = 20_000;

async function kvmBootProbe(image: MicrovmImage, runDir: string): Promise<AcceleratorChoice> {
  const probedAt = new Date().toISOString();
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch (e) {
    return {
      accelerator: 'tcg',
      reason: `/dev/kvm is not usable (${(e as NodeJS.ErrnoException).code ?? String(e)}): TCG, QEMU's dynamic binary translation`,
      probedAt,
    };
  }
  const config = {
    image,
    accelerator: 'kvm' as const,
    ceilingMb: 256,
    memoryMb: 256,
    cpus: 1,
    network: false,
    heapMb: 64,
  };
  try {
    const { vm, readyMs } = await bootVm(config, runDir, 'kvm-probe', KVM_BOOT_DEADLINE_MS);
    await vm.kill();
    return { accelerator: 'kvm', reason: `KVM booted a guest to a ready agent in ${readyMs} ms`, probedAt };
  } catch (e) {
    const why = (e as Error).message.replace(/\s+/g, ' ').slice(0, 400);
    return {
      accelerator: 'tcg',
      reason: `/dev/kvm exists but KVM could not boot a guest within ${KVM_BOOT_DEADLINE_MS} ms (${why}): TCG, QEMU's dynamic binary translation`,
      probedAt,
    };
  }
}

async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => 'unknown')).trim();
}

/** The accelerator for this host: forced by NIMBUS_MICROVM_ACCEL, cached, or probed now. */
export async function chooseAccelerator(
  image: MicrovmImage,
  dataDir: string,
  runDir: string,
): Promise<AcceleratorChoice> {
  const forced = process.env.NIMBUS_MICROVM_ACCEL;
  if (forced === 'kvm' || forced === 'tcg')
    return {
      accelerator: forced,
      reason: `forced by NIMBUS_MICROVM_ACCEL=${forced}`,
      probedAt: new Date().toISOString(),
    };
  const key = createHash('sha256')
    .update(JSON.stringify([image.hash, qemuVersionLine(), release(), await bootId()]))
    .digest('hex')
    .slice(0, 16);
  const name = `accelerator-${key}.json`;
  const shared = sharedCacheDir();
  const places = [path.join(dataDir, 'microvm', name), ...(shared ? [path.join(shared, name)] : [])];
  for (const file of places) {
    if (await exists(file)) return JSON.parse(await readFile(file, 'utf8')) as AcceleratorChoice;
  }
  const choice = await kvmBootProbe(image, runDir);
  for (const file of places) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(choice, null, 2));
  }
  return choice;
}
