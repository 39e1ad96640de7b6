// The framework's share of the baseline: the hello handler inline, as in
// bare-server.mjs, but served by fastify as nimbus's front end is. What this
// loses against bare node:http is what the framework costs before the
// platform does anything.
import { listenFastify } from './fastify-front.mjs';

const handler = async (event) => ({ message: `Hello, ${event.name ?? 'world'}!` });

await listenFastify(handler);
