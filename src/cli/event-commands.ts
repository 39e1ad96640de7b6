// `nimbus trigger create|list|get|delete` and `nimbus publish <topic>`: cron
// schedules and topic subscriptions, and events published to topics, through
// the API (PUT/GET/DELETE /v1/triggers, POST /v1/topics/:topic/publish).
import type { Command } from 'commander';
import { api, check, CliError, print } from './client.ts';
import { readData } from './commands.ts';

interface CreateOpts {
  cron?: string;
  timezone?: string;
  catchUp?: boolean;
  topic?: string;
  filter?: string;
  function?: string;
  data?: string;
}

async function createBody(o: CreateOpts): Promise<Record<string, unknown>> {
  if (!o.function) throw new CliError('give --function <name> (or name:3, name:alias): what the trigger starts', 2);
  if ((o.cron === undefined) === (o.topic === undefined))
    throw new CliError('give either --cron "<expression>" or --topic <topic>', 2);
  if (o.cron !== undefined) {
    if (o.filter) throw new CliError('--filter is for --topic triggers', 2);
    const event = o.data === undefined ? undefined : await readData(o.data);
    return { type: 'cron', schedule: o.cron, timezone: o.timezone, function: o.function, event, catchUp: o.catchUp };
  }
  if (o.timezone || o.catchUp || o.data)
    throw new CliError('--timezone, --catch-up and --data are for --cron triggers', 2);
  const filter = o.filter === undefined ? undefined : await readData(o.filter);
  return { type: 'topic', topic: o.topic, function: o.function, filter };
}

interface TriggerView {
  name: string;
  type: 'cron' | 'topic';
  schedule?: string;
  timezone?: string;
  topic?: string;
  function: string;
}

const describe = (t: TriggerView) =>
  `${t.name}\t${t.type}\t${t.type === 'cron' ? `${t.schedule}${t.timezone ? ` (${t.timezone})` : ''}` : t.topic}\t-> ${t.function}`;

export function registerEventCommands(program: Command): void {
  const trigger = program.command('trigger').description('cron schedules and topic subscriptions that start functions');
  trigger
    .command('create <name>')
    .description('create or replace a trigger: --cron "<expression>" or --topic <topic>, and --function')
    .option('--cron <expression>', 'cron expression: 5 fields, or 6 with seconds first ("*/10 * * * * *")')
    .option('--timezone <zone>', 'IANA time zone of the expression (default UTC)')
    .option('--catch-up', 'after downtime, fire every missed tick (default: only ticks missed by under 30 s)')
    .option('--data <json>', 'cron: the event each tick gets (JSON or @file.json; trigger and scheduledTime are added)')
    .option('--topic <topic>', 'subscribe the function to this topic')
    .option('--filter <json>', 'topic: only events whose top-level fields equal these, e.g. {"type":"order"}')
    .option('--function <name>', 'the function it starts: name, name:3 or name:alias')
    .action(async (name: string, o: CreateOpts) => {
      const res = check(await api('PUT', `/v1/triggers/${encodeURIComponent(name)}`, { json: await createBody(o) }));
      print(`${res.status === 201 ? 'created' : 'replaced'} ${describe(res.body as TriggerView)}`);
    });
  trigger
    .command('list')
    .description('list the triggers of the namespace')
    .action(async () => {
      const { triggers } = check(await api('GET', '/v1/triggers')).body as { triggers: TriggerView[] };
      print(triggers.map(describe).join('\n') || 'no triggers: nimbus trigger create <name> --cron … --function …');
    });
  trigger
    .command('get <name>')
    .description('show a trigger')
    .action(async (name: string) => print(check(await api('GET', `/v1/triggers/${encodeURIComponent(name)}`)).body));
  trigger
    .command('delete <name>')
    .description('delete a trigger')
    .action(async (name: string) => {
      check(await api('DELETE', `/v1/triggers/${encodeURIComponent(name)}`));
      print(`deleted trigger ${name}`);
    });

  program
    .command('publish <topic>')
    .description("publish an event to a topic: one async activation per subscriber; prints the message's ids")
    .option('--data <json>', 'the event: JSON or @file.json')
    .option('--idempotency-key <key>', 'a retry with the same key stores nothing new and prints the same ids')
    .action(async (topic: string, o: { data?: string; idempotencyKey?: string }) => {
      const headers: Record<string, string> = o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : {};
      const res = check(
        await api('POST', `/v1/topics/${encodeURIComponent(topic)}/publish`, { json: await readData(o.data) }, headers),
      );
      print(res.body);
    });
}
