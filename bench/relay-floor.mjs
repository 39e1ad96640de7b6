// The floor for any engine that runs functions in another process: a bare
// node:http server that relays each request to one child process over a
// socket pair (length-prefixed JSON, frames of one event-loop turn written
// together) and answers with the child's result. No validation, no records,
// no routing: what it costs is what crossing into a separate process costs.
// With RELAY_FRONT=fastify the relay sits behind fastify instead of bare
// node:http: the floor for nimbus's own stack, before the platform does anything.
import http from 'node:http';
import net from 'node:net';
import { listenFastify } from './fastify-front.mjs';
import { childRelay, framer } from './framer.mjs';

if (process.argv[2] === 'child') {
  const handler = async (event) => ({ message: `Hello, ${event.name ?? 'world'}!` });
  const socket = new net.Socket({ fd: 3, readable: true, writable: true });
  const send = framer(socket, async (m) => send({ id: m.id, value: await handler(m.event) }));
} else {
  const relay = childRelay(Number(process.env.RELAY_CHILDREN ?? 2));
  if (process.env.RELAY_FRONT === 'fastify') await listenFastify(relay);
  else {
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        const value = await relay(JSON.parse(Buffer.concat(chunks).toString() || '{}'));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      });
    });
    server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
  }
}
