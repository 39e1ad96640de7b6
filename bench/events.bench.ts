// `npm run bench:events`: events and state. Each part lives in its own module
// and prints its own table; a part can be run alone with BENCH_EVENTS=kv (or a
// comma-separated list of parts).
import { kvBench } from './events-kv.ts';
import { topicsBench } from './events-topics.ts';

const parts = new Set((process.env.BENCH_EVENTS ?? 'kv,topics').split(','));

// Function state: KV get/put from inside a warm function vs a direct store call.
if (parts.has('kv')) {
  const { text } = await kvBench();
  console.log(
    `\nKV (${process.env.BENCH_KV_OPS ?? 2000} sequential operations inside one call; SQLite store)\n${text}`,
  );
}

// Publish-to-activation latency and fan-out (1 topic x 10 subscribers), embedded and cluster.
if (parts.has('topics')) {
  const { text } = await topicsBench();
  const engine = process.env.BENCH_TOPIC_ENGINE ?? 'isolate';
  console.log(
    `\nTopics (engine ${engine}; embedded: SQLite, memory bus; cluster: 1 front end + 2 invokers, JetStream, PostgreSQL)\n${text}`,
  );
}
