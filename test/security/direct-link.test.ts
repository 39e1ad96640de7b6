// Direct links of the NATS bus (src/bus/nats/direct-*.ts), attacked as a local
// process or a network peer that does not hold the link token:
// - a hello captured from the real server and replayed from another port (a
//   process that took the port a stale offer names) must not win a link: the
//   server's proof has to answer the client's own fresh nonce;
// - connections that never prove themselves are capped, so they cannot hold
//   the invoker's file descriptors;
// - a link whose peer goes silent without a reset (frozen process, dead host)
//   is closed within seconds, not left to eat every request until its timeout;
// - malformed frames close the connection and crash nothing, before and after
//   the proof; a request over the link keeps NATS's payload limit and the
//   bus's namespace, and the token is never logged.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { NatsBus } from '../../src/bus/nats/bus.ts';
import { DirectLinks } from '../../src/bus/nats/direct-client.ts';
import { FrameSocket, proof, type Frame } from '../../src/bus/nats/direct-frames.ts';
import { DirectServer, MAX_UNPROVEN, type DirectOffer } from '../../src/bus/nats/direct-server.ts';
import { encode } from '../../src/bus/nats/codec.ts';
import { SHARED_NATS, sharedBusUrl } from '../cluster/shared-nats.ts';
import { TcpProxy } from '../cluster/tcp-proxy.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (what: string, check: () => boolean, timeoutMs = 10_000) => {
  for (const end = Date.now() + timeoutMs; !check(); await sleep(20))
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
};

/** The offer any NATS client of the namespace gets for `subject`. */
async function offerOf(url: string, subject: string): Promise<DirectOffer> {
  const namespace = new URL(url).searchParams.get('namespace');
  const nc = await connect({ servers: SHARED_NATS.replace('nats://', '') });
  try {
    const m = await nc.request(`${namespace}.${subject}.direct`, new Uint8Array(), { timeout: 2000 });
    return JSON.parse(new TextDecoder().decode(m.data)) as DirectOffer;
  } finally {
    await nc.close();
  }
}

/** A raw connection to a direct server: every frame it is sent, and whether the server closed it. */
function raw(offer: { host: string; port: number }) {
  const socket = net.connect(offer.port, offer.host);
  socket.on('error', () => undefined);
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  const link = new FrameSocket(socket, (f) => {
    frames.push(f);
    for (const w of waiters.splice(0)) w();
  });
  link.maxFrame = 1 << 24;
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const next = async (check: (f: Frame) => boolean, timeoutMs = 3000): Promise<Frame> => {
    for (const end = Date.now() + timeoutMs; ;) {
      const found = frames.find(check);
      if (found) return found;
      if (Date.now() > end || socket.destroyed) throw new Error('no such frame');
      await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 50)));
    }
  };
  return { socket, link, frames, closed, next };
}

/** Does the client side of the handshake on a raw connection with the real token. */
async function handshake(offer: DirectOffer) {
  const c = raw(offer);
  const token = Buffer.from(offer.token, 'base64');
  const mine = randomBytes(18).toString('base64');
  c.link.send({ t: 'hi', nonce: mine });
  const hello = await c.next((f) => f.header.t === 'hello');
  const theirs = String(hello.header.nonce);
  assert.equal(hello.header.proof, proof(token, 'server', mine, theirs), 'the server proves it holds the token');
  c.link.send({ t: 'auth', proof: proof(token, 'client', mine, theirs) });
  return c;
}

/** Resolves true if the server closes the connection within `ms`. */
const closesWithin = (closed: Promise<void>, ms: number) =>
  Promise.race([closed.then(() => true), sleep(ms).then(() => false)]);

describe('direct links under attack', () => {
  const logged: string[] = [];
  const url = sharedBusUrl();
  let server: NatsBus;
  let calls = 0;
  before(async () => {
    server = await NatsBus.create(url, (msg, extra) => logged.push(`${msg} ${JSON.stringify(extra ?? {})}`));
    await server.serve('sec.echo', async (data) => (calls++, data));
  });
  after(() => server.close());

  it('does not link to a port that replays a hello captured from the real server', async () => {
    const real = await offerOf(url, 'sec.echo');
    // Anyone can connect and read a hello: no token needed.
    const spy = raw(real);
    spy.link.send({ t: 'hi', nonce: randomBytes(18).toString('base64') });
    const captured = await spy.next((f) => f.header.t === 'hello');
    spy.socket.destroy();

    const seen: Record<string, unknown>[] = [];
    const squatter = net.createServer((s) => {
      s.on('error', () => undefined);
      const f = new FrameSocket(s, ({ header }) => seen.push(header));
      f.send(captured.header);
      // A replayer that waits for the client's first frame, in case the client speaks first.
      s.once('data', () => f.send(captured.header));
    });
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const { port } = squatter.address() as net.AddressInfo;
    const links = new DirectLinks(
      async () => ({ ...real, port }),
      () => 1 << 20,
    );
    try {
      assert.equal(links.request('sec.echo', encode({ secret: 1 }), 1000), undefined);
      await sleep(500);
      assert.deepEqual(links.linked(), [], 'a replayed hello won a link');
      assert.deepEqual(
        seen.filter((h) => h.t === 'auth' || 'i' in h),
        [],
        'the client sent its proof or a request to the replayer',
      );
    } finally {
      links.close();
      squatter.close();
    }
  });

  it(`closes at once a connection beyond ${MAX_UNPROVEN} unproven ones, and links again once they are gone`, async () => {
    const offer = await offerOf(url, 'sec.echo');
    const idle = Array.from({ length: MAX_UNPROVEN }, () => raw(offer));
    try {
      await Promise.all(idle.map((c) => new Promise((r) => c.socket.once('connect', r))));
      await sleep(100);
      const extra = raw(offer);
      assert.ok(await closesWithin(extra.closed, 1000), 'a connection over the cap stayed open');
    } finally {
      for (const c of idle) c.socket.destroy();
    }
    await sleep(100);
    const ok = await handshake(offer);
    ok.link.send({ i: 1, s: 'sec.echo' }, encode({ n: 1 }));
    const reply = await ok.next((f) => f.header.i === 1);
    assert.deepEqual(JSON.parse(reply.payload.toString()), { ok: true, data: { n: 1 } });
    ok.socket.destroy();
  });

  it('closes a link whose peer goes silent without a reset, failing its requests long before their timeout', async () => {
    const direct = new DirectServer(
      '127.0.0.1',
      () => 1 << 20,
      () => undefined,
    );
    await direct.add('sec.slow', async () => encode({ ok: true, data: 'late' }));
    const offer = direct.offer();
    const proxy = await TcpProxy.start({ host: offer.host, port: offer.port });
    const links = new DirectLinks(
      async () => ({ ...offer, port: proxy.port }),
      () => 1 << 20,
      { pingMs: 200 },
    );
    try {
      assert.equal(links.request('sec.slow', encode({}), 1000), undefined);
      await until('the link is up', () => links.linked().includes('sec.slow'));
      proxy.freeze();
      const started = Date.now();
      const pending = links.request('sec.slow', encode({}), 20_000);
      assert.ok(pending, 'the request went over the link');
      await assert.rejects(pending, /closed before the reply/);
      assert.ok(Date.now() - started < 5000, `failed after ${Date.now() - started} ms, not when the peer went silent`);
      assert.deepEqual(links.linked(), [], 'the silent link is still used');
    } finally {
      links.close();
      await proxy.close();
      await direct.close();
    }
  });

  it('closes connections that send malformed frames before the proof, and crashes nothing', async () => {
    const offer = await offerOf(url, 'sec.echo');
    const prefix = (size: number, headerSize: number) => {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(size, 0);
      b.writeUInt32BE(headerSize, 4);
      return b;
    };
    const frame = (head: string, payload = '') =>
      Buffer.concat([prefix(head.length + payload.length, head.length), Buffer.from(head), Buffer.from(payload)]);
    const cases: Record<string, Buffer> = {
      'a 4 GB declared size': prefix(0xffffffff, 2),
      'a header longer than its frame': prefix(10, 11),
      'a 5 KB frame': frame(JSON.stringify({ t: 'hi', nonce: 'x'.repeat(5000) })),
      'header null': frame('null'),
      'header a string': frame('"hi"'),
      'header an array': frame('[]'),
      'header not JSON': frame('{nope'),
      'a request before the proof': frame(JSON.stringify({ i: 1, s: 'sec.echo' }), '{}'),
      'a nonce that is not a string': frame(JSON.stringify({ t: 'hi', nonce: 5 })),
    };
    const before = calls;
    for (const [what, bytes] of Object.entries(cases)) {
      const c = raw(offer);
      c.socket.write(bytes);
      assert.ok(await closesWithin(c.closed, 1000), `${what}: the connection stayed open`);
    }
    assert.equal(calls, before, 'nothing ran');
  });

  it('closes a connection that never proves itself within the handshake time', { timeout: 10_000 }, async () => {
    const offer = await offerOf(url, 'sec.echo');
    const c = raw(offer);
    c.socket.write(Buffer.from([0, 0, 0])); // a frame begun, never finished
    assert.ok(await closesWithin(c.closed, 6000), 'a silent connection held its socket past the handshake time');
  });

  it('closes proven links on malformed frames, answers bad payloads with an error, and keeps serving', async () => {
    const offer = await offerOf(url, 'sec.echo');
    const bad: Record<string, Buffer | [Record<string, unknown> | string, string]> = {
      'header null': ['null', ''],
      'header an array': ['[]', ''],
      'an id that is a string': [{ i: '1', s: 'sec.echo' }, '{}'],
      'no subject': [{ i: 1 }, '{}'],
      'a subject that is an object': [{ i: 1, s: { toString: 'x' } }, '{}'],
    };
    for (const [what, spec] of Object.entries(bad)) {
      const c = await handshake(offer);
      const [head, payload] = spec as [Record<string, unknown> | string, string];
      const h = Buffer.from(typeof head === 'string' ? head : JSON.stringify(head));
      const prefix = Buffer.alloc(8);
      prefix.writeUInt32BE(h.length + payload.length, 0);
      prefix.writeUInt32BE(h.length, 4);
      c.socket.write(Buffer.concat([prefix, h, Buffer.from(payload)]));
      assert.ok(await closesWithin(c.closed, 1000), `${what}: the proven connection stayed open`);
    }
    const c = await handshake(offer);
    c.link.send({ i: 1, s: 'sec.echo' }, Buffer.from('not json'));
    const reply = JSON.parse((await c.next((f) => f.header.i === 1)).payload.toString()) as {
      error?: { code: string };
    };
    assert.equal(reply.error?.code, 'internal', 'a payload that is not JSON is an error reply');
    const max = 1024 * 1024; // the shared server's max_payload
    const before = calls;
    c.link.send({ i: 2, s: 'sec.echo' }, encode('x'.repeat(max + 100)));
    const big = JSON.parse((await c.next((f) => f.header.i === 2)).payload.toString()) as { error?: { code: string } };
    assert.equal(big.error?.code, 'payload_too_large', 'a request over max_payload ran on the link');
    assert.equal(calls, before);
    c.link.send({ i: 3, s: 'sec.echo' }, encode({ n: 3 }));
    assert.deepEqual(JSON.parse((await c.next((f) => f.header.i === 3)).payload.toString()), {
      ok: true,
      data: { n: 3 },
    });
    c.socket.destroy();
  });

  it('ignores replies for unknown or malformed ids from a proven server', async () => {
    const token = randomBytes(32);
    const fake = net.createServer((s) => {
      s.on('error', () => undefined);
      const f: FrameSocket = new FrameSocket(s, ({ header }) => {
        if (header.t === 'hi') {
          const nonce = randomBytes(18).toString('base64');
          f.send({ t: 'hello', nonce, proof: proof(token, 'server', String(header.nonce), nonce) });
        } else if (typeof header.i === 'number') {
          f.send({ i: 9999 }, encode({ ok: true, data: 'unknown' }));
          f.send({ i: 'x' }, encode({ ok: true, data: 'string id' }));
          f.send({ i: header.i }, Buffer.from('not json'));
        }
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const { port } = fake.address() as net.AddressInfo;
    const links = new DirectLinks(
      async () => ({ host: '127.0.0.1', port, token: token.toString('base64') }),
      () => 1 << 20,
    );
    try {
      links.request('x', encode({}), 1000);
      await until('the link is up', () => links.linked().includes('x'));
      const pending = links.request('x', encode({}), 2000);
      assert.ok(pending);
      // The reply that matches is handed back as bytes; the bus turns non-JSON into an `internal` error.
      assert.equal((await pending).toString(), 'not json');
    } finally {
      links.close();
      fake.close();
    }
  });

  it('keeps namespaces apart: a front end links only to servers of its own namespace', async () => {
    const otherUrl = sharedBusUrl();
    const other = await NatsBus.create(otherUrl);
    await other.serve('sec.ns', async () => 'other');
    const mine = await NatsBus.create(url);
    await mine.serve('sec.ns', async () => 'mine');
    const client = await NatsBus.create(url);
    try {
      assert.equal(await client.request('sec.ns', {}, 5000), 'mine');
      await until('the link is up', () => client.directLinks().includes('sec.ns'));
      for (let n = 0; n < 10; n++) assert.equal(await client.request('sec.ns', {}, 5000), 'mine');
    } finally {
      await Promise.all([client.close(), mine.close(), other.close()]);
    }
  });

  it('never logs the token', async () => {
    const { token } = await offerOf(url, 'sec.echo');
    const client = await NatsBus.create(url);
    try {
      await client.request('sec.echo', 1, 5000);
      await until('the link is up', () => client.directLinks().includes('sec.echo'));
      await client.request('sec.echo', 2, 5000);
    } finally {
      await client.close();
    }
    await server.serve('sec.fail', async () => {
      throw new Error('boom');
    });
    await assert.rejects(
      NatsBus.create(url).then(async (c) => c.request('sec.fail', {}, 5000).finally(() => c.close())),
    );
    assert.ok(logged.length > 0, 'the failing handler was logged');
    assert.ok(!logged.some((l) => l.includes(token)), 'the token appears in the log');
  });
});
