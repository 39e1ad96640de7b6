// A network namespace per sandbox, for the OS sandboxes (container, microVM,
// process under bubblewrap): made by a small holder process (`unshare --net`),
// filtered from inside by nftables rules generated from the egress policy, and
// connected outward by slirp4netns with the host's loopback turned off (its
// connections leave from the host's own stack, so only the rules inside keep
// them off the host's addresses and private ranges). Both helpers end on their
// own when the platform dies: the holder exits at end-of-file on its stdin,
// slirp4netns when its exit fd closes. See README.md for how engines use it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { EgressPolicy } from '../driver.ts';
import { NimbusError } from '../../shared/errors.ts';
import { nftRuleset, allowsHostLoopback, SLIRP } from './nft-rules.ts';
import { EgressRules } from './policy.ts';

export interface SandboxNetwork {
  /** The namespace, valid until close(): `nsenter --net=<netnsPath>`, or an OCI `{type: "network", path}` entry. A path into the platform's own fd table (/proc/<platform pid>/fd/<n>). */
  readonly netnsPath: string;
  /** The resolver to write into the sandbox's /etc/resolv.conf (slirp4netns's DNS forwarder). */
  readonly dns: string;
  /** What the sandbox sees and may reach, for sandbox details and doctor. */
  readonly details: Record<string, unknown>;
  /** The helper processes (holder, slirp4netns), for tests and leftovers checks. */
  readonly helperPids: readonly number[];
  /** Whether close() has begun or a helper died (the sandbox then has no outward network left). */
  readonly closed: boolean;
  /** Stops slirp4netns and the holder; the namespace ends with its last process. Idempotent. */
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;
const EXIT_GRACE_MS = 2000;

function exitOf(child: ChildProcess): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(`exit ${child.exitCode ?? child.signalCode}`);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit ${code}`));
    child.once('error', (e) => resolve(e.message));
  });
}

function tail(stream: Readable | null): () => string {
  let text = '';
  stream?.on('data', (c: Buffer) => (text = (text + c.toString('utf8')).slice(-1000)));
  return () => text.trim();
}

/** Waits for `child` to print something on `stream`; fails when it exits first or takes too long. */
async function firstOutput(child: ChildProcess, stream: Readable, what: string, stderr: () => string): Promise<void> {
  const timer = AbortSignal.timeout(START_TIMEOUT_MS);
  const printed = once(stream, 'data', { signal: timer }).then(() => undefined);
  const exited = exitOf(child).then((how) =>
    Promise.reject(new Error(`${what} ended (${how})${stderr() ? `: ${stderr()}` : ''}`)),
  );
  exited.catch(() => undefined);
  await Promise.race([printed, exited]).catch((e: Error) => {
    throw new Error(e.name === 'AbortError' ? `${what} did not start within ${START_TIMEOUT_MS} ms` : e.message);
  });
}

async function run(command: string, args: string[], input: string): Promise<void> {
  const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  const stderr = tail(child.stderr);
  (child.stdin as Writable).end(input);
  const how = await exitOf(child);
  if (how !== 'exit 0') throw new Error(`${command} ${args.join(' ')} failed (${how}): ${stderr()}`);
}

async function stop(child: ChildProcess, polite: () => void): Promise<void> {
  const exited = exitOf(child);
  polite();
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Opens a filtered network namespace for one sandbox. Needs root, util-linux
 * (unshare, nsenter), nftables and slirp4netns. Throws NimbusError
 * ('unavailable') saying what is missing, or ('bad_request') for an allow list
 * entry that is not a CIDR.
 */
export async function openSandboxNetwork(policy: EgressPolicy | EgressRules): Promise<SandboxNetwork> {
  const rules = policy instanceof EgressRules ? policy : new EgressRules(policy);
  if (process.getuid?.() !== 0)
    throw new NimbusError(
      'unavailable',
      `a sandbox with network needs a network namespace of its own, which only root can make; nimbus runs as uid ${process.getuid?.()}`,
    );
  const helpers: ChildProcess[] = [];
  let closing: Promise<void> | undefined;
  let nsFd: number | undefined;
  const holder = spawn('unshare', ['--net', '--', 'sh', '-c', 'echo ready; exec cat'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  helpers.push(holder);
  const close = () =>
    (closing ??= (async () => {
      const [first, second] = helpers;
      if (second) await stop(second, () => (second.stdio[3] as Writable | null)?.destroy());
      if (first) await stop(first, () => first.stdin?.end());
      if (nsFd !== undefined) closeSync(nsFd);
      nsFd = undefined;
    })());
  try {
    await firstOutput(
      holder,
      holder.stdout as Readable,
      'the network namespace holder (unshare --net)',
      tail(holder.stderr),
    );
    // The platform holds the namespace by an open fd and hands out that fd's path: a path through the
    // holder's pid could name another process's namespace (the host's) if the holder died and its pid were reused.
    nsFd = openSync(`/proc/${holder.pid}/ns/net`, 'r');
    if (fstatSync(nsFd).ino === statSync('/proc/self/ns/net').ino)
      throw new Error("the holder's network namespace is the host's");
    const netnsPath = `/proc/${process.pid}/fd/${nsFd}`;
    await run('nsenter', [`--net=${netnsPath}`, 'nft', '-f', '-'], nftRuleset(rules));
    const hostLoopback = allowsHostLoopback(rules);
    const slirpArgs = [
      '--configure',
      '--mtu=65520',
      '--enable-sandbox',
      '--enable-seccomp',
      '--exit-fd=3',
      '--ready-fd=4',
    ];
    if (!hostLoopback) slirpArgs.push('--disable-host-loopback');
    const slirp = spawn('slirp4netns', [...slirpArgs, '--netns-type=path', netnsPath, SLIRP.device], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    helpers.push(slirp);
    await firstOutput(slirp, slirp.stdio[4] as Readable, 'slirp4netns', tail(slirp.stderr));
    for (const h of helpers) h.unref();
    for (const s of [holder.stdin, holder.stdout, holder.stderr, slirp.stderr, slirp.stdio[3], slirp.stdio[4]])
      (s as { unref?: () => void } | null)?.unref?.();
    let helperDied = false;
    for (const h of helpers) void exitOf(h).then(() => (helperDied = true));
    return {
      netnsPath,
      helperPids: helpers.map((h) => h.pid ?? 0),
      dns: SLIRP.dns,
      details: {
        network: 'own namespace, slirp4netns, nftables egress rules',
        address: SLIRP.guest,
        dns: SLIRP.dns,
        allow: rules.allow.map((c) => c.text),
        hostLoopback: hostLoopback ? `allowed, as ${SLIRP.gateway}` : 'refused',
      },
      get closed() {
        return closing !== undefined || helperDied;
      },
      close,
    };
  } catch (e) {
    await close();
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT' || /ENOENT|not found/.test(String(e));
    const hint = missing ? ' (install util-linux, nftables and slirp4netns; scripts/setup.sh does it)' : '';
    throw new NimbusError('unavailable', `could not give the sandbox its own network: ${(e as Error).message}${hint}`);
  }
}
