// The framework's share of the baseline: the hello handler inline, as in
// bare-server.mjs, but served by fastify set up as nimbus's front end sets it
// up (one raw-bytes body parser for every content type, no request logging).
// What this loses against bare node:http is what the framework costs before
// the platform does anything.
import Fastify from 'fastify';

const handler = async (event) => ({ message: `Hello, ${event.name ?? 'world'}!` });

const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/v1/functions/:name/invoke', async (request, reply) => {
  const result = await handler(JSON.parse(request.body.toString() || '{}'));
  return reply.code(200).type('application/json').send(JSON.stringify(result));
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`listening ${app.server.address().port}\n`);
