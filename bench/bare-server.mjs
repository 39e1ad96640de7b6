// The baseline for bench/core.bench.ts: a bare node:http server that runs the
// same hello handler inline, with no platform around it.
import http from 'node:http';

const handler = async (event) => ({ message: `Hello, ${event.name ?? 'world'}!` });

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const result = await handler(JSON.parse(Buffer.concat(chunks).toString() || '{}'));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(result));
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
