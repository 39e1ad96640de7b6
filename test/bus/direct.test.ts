// Direct links of the NATS bus (src/bus/nats/direct-*.ts): after the first
// request to a subject, later ones cross a TCP link to its server instead of
// the NATS server, with the same replies and errors; `direct=off` keeps them
// on NATS. As an attacker: a connection without the token's proof is closed
// before any request of it runs, a client never sends a request to a server
// that cannot prove it holds the token, a link that drops fails its requests
// at once, and a subject no longer served answers `delivered: false`.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { NatsBus } from '../../src/bus/nats/bus.ts';
import { DirectLinks } from '../../src/bus/nats/direct-client.ts';
import { FrameSocket, proof } from '../../src/bus/nats/direct-frames.ts';
import { encode } from '../../src/bus/nats/codec.ts';
import { isNimbusError, NimbusError } from '../../src/shared/errors.ts';
import { SHARED_NATS, sharedBusUrl } from '../cluster/shared-nats.ts';

const until = async (what: string, check: () => boolean, timeoutMs = 10_000) => {
  for (const end = Date.now() + timeoutMs; !check(); await new Promise((r) => setTimeout(r, 20)))
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
};

describe('NATS bus direct links', () => {
  const url = sharedBusUrl();
  const namespace = new URL(url).searchParams.get('namespace');
  let server: NatsBus;
  let client: NatsBus;
  let calls = 0;
  before(async () => {
    [server, client] = await Promise.all([NatsBus.create(url), NatsBus.create(url)]);
    await server.serve('direct.echo', async (data) => {
      calls++;
      const d = data as { fail?: boolean; n: number };
      if (d.fail) throw new NimbusError('throttled', 'asked to fail', { n: d.n });
      return { n: d.n };
    });
  });
  after(() => Promise.all([server.close(), client.close()]));

  /** The offer any NATS client of this namespace gets for `subject`. */
  const offer = async (subject: string) => {
    const nc = await connect({ servers: SHARED_NATS.replace('nats://', '') });
    const m = await nc.request(`${namespace}.${subject}.direct`, new Uint8Array(), { timeout: 2000 });
    await nc.close();
    return JSON.parse(new TextDecoder().decode(m.data)) as { host: string; port: number; token: string };
  };

  it('sends later requests over the link, with the same replies and errors', async () => {
    assert.deepEqual(await client.request('direct.echo', { n: 1 }, 5000), { n: 1 }, 'the first goes on NATS');
    await until('the link is up', () => client.directLinks().includes('direct.echo'));
    const replies = await Promise.all(Array.from({ length: 50 }, (_, n) => client.request('direct.echo', { n }, 5000)));
    assert.deepEqual(
      replies,
      Array.from({ length: 50 }, (_, n) => ({ n })),
    );
    await assert.rejects(client.request('direct.echo', { fail: true, n: 7 }, 5000), (e) => {
      assert.ok(isNimbusError(e) && e.code === 'throttled' && e.details.n === 7, String(e));
      return true;
    });
  });

  it('keeps requests on NATS with direct=off', async () => {
    const off = await NatsBus.create(`${url}&direct=off`);
    try {
      for (let n = 0; n < 5; n++) assert.deepEqual(await off.request('direct.echo', { n }, 5000), { n });
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(off.directLinks(), []);
    } finally {
      await off.close();
    }
  });

  it('closes a connection that sends a request without proving it holds the token, running nothing', async () => {
    const { host, port } = await offer('direct.echo');
    const before = calls;
    for (const auth of [undefined, 'not-a-proof']) {
      const socket = net.connect(port, host);
      const closed = new Promise((r) => socket.once('close', r));
      socket.on('error', () => undefined);
      const frames = new FrameSocket(socket, () => undefined);
      if (auth) frames.send({ t: 'auth', proof: auth });
      frames.send({ i: 1, s: 'direct.echo' }, encode({ n: 1 }));
      await closed;
    }
    assert.equal(calls, before, 'no request of an unproven connection ran');
  });

  it('sends nothing to a server that cannot prove it holds the token, and stays on NATS', async () => {
    const token = Buffer.alloc(32, 1);
    /** A server on a port the offer names (a squatter, or the real one when `proven`). */
    const fakeServer = async (proven: boolean) => {
      const seen: string[] = [];
      const server = net.createServer((s) => {
        const frames: FrameSocket = new FrameSocket(s, ({ header }) => {
          seen.push(String(header.t));
          if (header.t !== 'hi') return;
          const nonce = 'a'.repeat(24);
          frames.send({
            t: 'hello',
            nonce,
            proof: proven ? proof(token, 'server', String(header.nonce), nonce) : 'forged',
          });
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const { port } = server.address() as net.AddressInfo;
      const links = new DirectLinks(
        async () => ({ host: '127.0.0.1', port, token: token.toString('base64') }),
        () => 1 << 20,
      );
      assert.equal(links.request('x', encode({}), 1000), undefined, 'the first request goes on NATS');
      await new Promise((r) => setTimeout(r, 300));
      const linked = links.linked();
      links.close();
      server.close();
      return { seen, linked };
    };
    const squatter = await fakeServer(false);
    assert.deepEqual(squatter.linked, [], 'no link to an unproven server');
    assert.deepEqual(squatter.seen, ['hi'], 'nothing but our nonce was sent to it, not even our proof');
    const real = await fakeServer(true);
    assert.deepEqual(real.linked, ['x'], 'a server that proves itself gets the link');
    assert.deepEqual(real.seen, ['hi', 'auth'], 'and our proof');
  });

  it('fails a request at once when its link drops, and answers delivered: false once the subject is not served', async () => {
    const other = await NatsBus.create(url);
    const stop = await other.serve('direct.hang', () => new Promise(() => undefined));
    await client.request('direct.hang', {}, 300).catch(() => undefined);
    await until('the link is up', () => client.directLinks().includes('direct.hang'));
    const started = Date.now();
    const failed = assert.rejects(
      client.request('direct.hang', {}, 30_000),
      (e) => isNimbusError(e) && e.code === 'unavailable',
    );
    await new Promise((r) => setTimeout(r, 100));
    await other.close();
    await failed;
    assert.ok(Date.now() - started < 5000, 'failed when the link dropped, not at the timeout');
    await stop().catch(() => undefined);

    const third = await NatsBus.create(url);
    const unserve = await third.serve('direct.gone', async () => 'here');
    await client.request('direct.gone', {}, 5000);
    await until('the link is up', () => client.directLinks().includes('direct.gone'));
    await unserve();
    await assert.rejects(client.request('direct.gone', {}, 5000), (e) => {
      assert.ok(isNimbusError(e) && e.code === 'unavailable' && e.details.delivered === false, String(e));
      return true;
    });
    await third.close();
  });
});
