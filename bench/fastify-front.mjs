// The front end the reference servers share when they use fastify, set up as
// nimbus's front end sets it up (one raw-bytes body parser for every content
// type, no request logging), serving POST /v1/functions/:name/invoke with
// whatever `handle` makes of the request body, with `status` (200).
import Fastify from 'fastify';

export async function listenFastify(handle, status = 200) {
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.post('/v1/functions/:name/invoke', async (request, reply) => {
    const result = await handle(JSON.parse(request.body.toString() || '{}'));
    return reply.code(status).type('application/json').send(JSON.stringify(result));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`listening ${app.server.address().port}\n`);
}
