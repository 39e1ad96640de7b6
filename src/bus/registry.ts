// Opens the bus the config names: "memory" (embedded) or a nats:// URL (cluster).
import type { NimbusConfig } from '../config/options.ts';
import type { Bus } from './bus.ts';
import { MemoryBus } from './memory/bus.ts';
import { NatsBus } from './nats/bus.ts';

export type BusLog = (msg: string, extra?: Record<string, unknown>) => void;

export async function openBus(config: NimbusConfig, log?: BusLog): Promise<Bus> {
  if (config.bus === 'memory') return new MemoryBus();
  if (/^nats:\/\//.test(config.bus)) return NatsBus.create(config.bus, log);
  throw new Error(`unknown bus "${config.bus}": use "memory" or a nats:// URL`);
}
