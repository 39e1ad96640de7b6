// A consistent-hash ring: every member sits at many points (virtual nodes) on
// a 32-bit circle; a key belongs to the first member clockwise from its hash.
// Adding or removing one member moves only the keys that member gains or
// loses, so a function keeps its home invoker (and its warm sandboxes) while
// other invokers come and go. Pure logic.
import { createHash } from 'node:crypto';

export function hash32(s: string): number {
  return createHash('sha1').update(s).digest().readUInt32BE(0);
}

/** Keys whose hash a ring remembers (function names are looked up on every call); past this it starts over. */
const KEY_HASHES = 10_000;

export class HashRing {
  private points: { at: number; member: string }[] = [];
  private readonly members = new Set<string>();
  private readonly keyHashes = new Map<string, number>();

  constructor(
    members: Iterable<string> = [],
    private readonly vnodes = 64,
  ) {
    for (const m of members) this.members.add(m);
    this.rebuild();
  }

  has(member: string): boolean {
    return this.members.has(member);
  }

  get size(): number {
    return this.members.size;
  }

  add(member: string): void {
    if (this.members.has(member)) return;
    this.members.add(member);
    this.rebuild();
  }

  remove(member: string): void {
    if (this.members.delete(member)) this.rebuild();
  }

  private rebuild(): void {
    const points: { at: number; member: string }[] = [];
    for (const member of this.members) {
      for (let i = 0; i < this.vnodes; i++) points.push({ at: hash32(`${member}#${i}`), member });
    }
    this.points = points.sort((a, b) => a.at - b.at || a.member.localeCompare(b.member));
  }

  /** Index of the first point at or after the key's hash (wrapping). */
  private start(key: string): number {
    let h = this.keyHashes.get(key);
    if (h === undefined) {
      if (this.keyHashes.size >= KEY_HASHES) this.keyHashes.clear();
      this.keyHashes.set(key, (h = hash32(key)));
    }
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid]?.at ?? 0) < h) lo = mid + 1;
      else hi = mid;
    }
    return lo % Math.max(1, this.points.length);
  }

  /** The members in the order a key meets them walking clockwise (home first), each once. */
  walk(key: string): string[] {
    const n = this.points.length;
    if (n === 0) return [];
    const lo = this.start(key);
    const order: string[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < n && seen.size < this.members.size; i++) {
      const p = this.points[(lo + i) % n];
      if (p && !seen.has(p.member)) {
        seen.add(p.member);
        order.push(p.member);
      }
    }
    return order;
  }

  /** The key's home member, if the ring has any. */
  home(key: string): string | undefined {
    return this.points[this.start(key)]?.member;
  }
}
