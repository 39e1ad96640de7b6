// console for the isolate runtime: Node-like formatting (printf-style %s %d
// %i %f %j %o %O %c, objects inspected to a bounded depth) written to the
// log of the activation that is running, never to the pool's own output.
import { liveActivation, scope } from './isolate-scope.guest.ts';
import { liveWrite } from './isolate-live.guest.ts';

/** A running call's output goes to its record's log and its live lines; module load output to the load's log. */
function writeText(text: string): void {
  const a = liveActivation();
  if (!a) return void scope.loading?.add(text);
  a.logs.add(text);
  liveWrite(a, text);
}

const MAX_DEPTH = 3;
const MAX_ITEMS = 100;

function inspect(value: unknown, depth = 0, seen: unknown[] = []): string {
  switch (typeof value) {
    case 'string':
      return depth === 0 ? value : JSON.stringify(value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return `[Function: ${value.name || '(anonymous)'}]`;
    case 'undefined':
      return 'undefined';
    case 'object':
      break;
    default:
      return Object.is(value, -0) ? '-0' : String(value);
  }
  if (value === null) return 'null';
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof RegExp) return String(value);
  if (seen.includes(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? '[Array]' : '[Object]';
  const next = [...seen, value];
  const items = (list: string[], total: number) =>
    total > MAX_ITEMS ? [...list, `... ${total - MAX_ITEMS} more items`] : list;
  if (Array.isArray(value)) {
    return `[ ${items(
      value.slice(0, MAX_ITEMS).map((v) => inspect(v, depth + 1, next)),
      value.length,
    ).join(', ')} ]`.replace('[  ]', '[]');
  }
  if (value instanceof Map) {
    const entries = [...value]
      .slice(0, MAX_ITEMS)
      .map(([k, v]) => `${inspect(k, depth + 1, next)} => ${inspect(v, depth + 1, next)}`);
    return `Map(${value.size}) { ${items(entries, value.size).join(', ')} }`;
  }
  if (value instanceof Set) {
    return `Set(${value.size}) { ${items(
      [...value].slice(0, MAX_ITEMS).map((v) => inspect(v, depth + 1, next)),
      value.size,
    ).join(', ')} }`;
  }
  if (ArrayBuffer.isView(value))
    return `${value.constructor.name}(${value.byteLength}) [ ${Array.from(new Uint8Array(value.buffer, value.byteOffset, Math.min(value.byteLength, MAX_ITEMS))).join(', ')} ]`;
  const keys = Object.keys(value);
  const body = keys
    .slice(0, MAX_ITEMS)
    .map(
      (k) =>
        `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${inspect((value as Record<string, unknown>)[k], depth + 1, next)}`,
    );
  const name =
    value.constructor && value.constructor !== Object && typeof value.constructor.name === 'string'
      ? `${value.constructor.name} `
      : '';
  return keys.length ? `${name}{ ${items(body, keys.length).join(', ')} }` : `${name}{}`;
}

export function format(args: unknown[]): string {
  const [first, ...rest] = args;
  if (typeof first !== 'string' || !first.includes('%')) return args.map((a) => inspect(a)).join(' ');
  let i = 0;
  const out = first.replace(/%([sdifjoOc%])/g, (match, spec: string) => {
    if (spec === '%') return '%';
    if (i >= rest.length) return match;
    const arg = rest[i++];
    switch (spec) {
      case 's':
        return typeof arg === 'string' ? arg : inspect(arg, 1);
      case 'd':
      case 'i': {
        const n = typeof arg === 'bigint' ? arg : Number(arg);
        return typeof n === 'bigint' ? `${n}n` : String(spec === 'i' ? Math.trunc(n) : n);
      }
      case 'f':
        return String(Number(arg));
      case 'j':
        try {
          return JSON.stringify(arg) ?? 'undefined';
        } catch {
          return '[Circular]';
        }
      case 'c':
        return '';
      default:
        return inspect(arg, 1);
    }
  });
  return [out, ...rest.slice(i).map((a) => inspect(a))].join(' ');
}

export function createConsole(): Record<string, (...args: unknown[]) => void> {
  const write = (...args: unknown[]) => writeText(`${format(args)}\n`);
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  return {
    log: write,
    info: write,
    debug: write,
    warn: write,
    error: write,
    trace: (...args: unknown[]) =>
      write(`Trace: ${format(args)}\n${(new Error().stack ?? '').split('\n').slice(2).join('\n')}`),
    dir: (value: unknown) => write(inspect(value, 1)),
    assert: (ok: unknown, ...args: unknown[]) => void (ok ? undefined : write('Assertion failed', ...args)),
    count: (name: unknown = 'default') => {
      const label = String(name);
      counts.set(label, (counts.get(label) ?? 0) + 1);
      write(`${label}: ${counts.get(label)}`);
    },
    countReset: (name: unknown = 'default') => void counts.delete(String(name)),
    time: (name: unknown = 'default') => void timers.set(String(name), Date.now()),
    timeEnd: (name: unknown = 'default') => {
      const label = String(name);
      const started = timers.get(label);
      timers.delete(label);
      if (started !== undefined) write(`${label}: ${Date.now() - started}ms`);
    },
    timeLog: (name: unknown = 'default', ...args: unknown[]) => {
      const label = String(name);
      const started = timers.get(label);
      if (started !== undefined) write(`${label}: ${Date.now() - started}ms`, ...args);
    },
  };
}
