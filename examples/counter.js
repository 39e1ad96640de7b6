// Counts its calls in its own key-value store (function state), across all of
// its sandboxes, and remembers who called in the last hour:
//   nimbus deploy examples/counter.js && nimbus invoke counter --data '{"who":"ada"}'
//   nimbus kv get counter calls
export const handler = async (event, context) => {
  const calls = await context.kv.increment('calls'); // atomic, across all its sandboxes
  await context.kv.put(`last/${event.who ?? 'anyone'}`, { at: Date.now() }, { ttlSeconds: 3600 });
  return { calls, recent: (await context.kv.list({ prefix: 'last/' })).keys.map((k) => k.name) };
};
