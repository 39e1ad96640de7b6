// Prepares a guest that was started from a VM snapshot, before its function
// loads: writes the function's files into the guest, and sets the guest's
// clock (a restored guest wakes up with the time at which it was saved). Only
// a guest whose init names a clock tool (GNU date) in NIMBUS_GUEST_CLOCK (the
// microVM init does) sets its clock: an agent running as a host process never does.
// Entropy, when sent, reseeds the guest's random sources (reseed.guest.ts)
// first: OpenSSL's reseed sets the clock back, and the clock is set after.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GuestMessage, HostMessage } from './protocol.ts';
import { reseed } from './reseed.guest.ts';

type PrepareMessage = Extract<HostMessage, { type: 'prepare' }>;

function setClock(epochMs: number, receivedAt: number): boolean {
  const tool = process.env.NIMBUS_GUEST_CLOCK;
  if (!tool) return false;
  // A relative setting ("+12.345 seconds", GNU date) is applied against the
  // clock date reads itself, so the time spent starting date adds no error.
  const offsetSeconds = (epochMs + (performance.now() - receivedAt) - Date.now()) / 1000;
  const relative = `${offsetSeconds < 0 ? '-' : '+'}${Math.abs(offsetSeconds).toFixed(3)} seconds`;
  execFileSync(tool, ['-u', '-s', relative], { stdio: 'ignore', timeout: 5000 });
  return true;
}

export function prepare(msg: PrepareMessage): GuestMessage {
  const receivedAt = performance.now();
  try {
    for (const file of msg.files) {
      mkdirSync(path.dirname(file.path), { recursive: true });
      writeFileSync(file.path, Buffer.from(file.contentBase64, 'base64'));
    }
    const clockTool = msg.epochMs === undefined ? undefined : process.env.NIMBUS_GUEST_CLOCK;
    let clockSet = false;
    try {
      if (msg.entropyBase64) reseed(Buffer.from(msg.entropyBase64, 'base64'), clockTool);
    } finally {
      clockSet = msg.epochMs === undefined ? false : setClock(msg.epochMs, receivedAt);
    }
    return { type: 'prepared', id: msg.id, clockSet };
  } catch (e) {
    return { type: 'prepared', id: msg.id, clockSet: false, error: e instanceof Error ? e.message : String(e) };
  }
}
