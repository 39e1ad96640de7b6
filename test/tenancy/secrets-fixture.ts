// What the secrets tests share: a function that reads its secret from the
// environment and answers only a hash and the length of it (so that the
// activation record never holds the value), the same hash here, fresh random
// values, and searches for a value in files and text.
import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** Runs on every engine (no Node APIs): FNV-1a of DB_PASSWORD, its length, and a plain env value beside it. */
export const READS_SECRET = `exports.handler = async () => {
  const v = process.env.DB_PASSWORD ?? '';
  let h = 2166136261;
  for (let i = 0; i < v.length; i++) { h ^= v.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0; }
  return { fnv: h, length: v.length, plain: process.env.PLAIN ?? null };
};`;

export function fnv(v: string): number {
  let h = 2166136261;
  for (let i = 0; i < v.length; i++) {
    h ^= v.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

/** A value no other text of the test run holds by chance. */
export function secretValue(label: string): string {
  return `${label}-${randomBytes(16).toString('hex')}`;
}

/** The files under dir (recursively) whose bytes hold any of the needles; sockets and the like are skipped. */
export async function filesHolding(dir: string, needles: string[], skip: (p: string) => boolean = () => false) {
  const hits: string[] = [];
  const walk = async (p: string): Promise<void> => {
    if (skip(p)) return;
    const info = await lstat(p).catch(() => undefined);
    if (info?.isDirectory()) for (const name of await readdir(p).catch(() => [])) await walk(path.join(p, name));
    else if (info?.isFile()) {
      const bytes = await readFile(p).catch(() => Buffer.alloc(0));
      if (needles.some((n) => bytes.includes(Buffer.from(n, 'utf8')))) hits.push(p);
    }
  };
  await walk(dir);
  return hits;
}
