// `nimbus report cost`: GET /v1/reports/cost shown as a table and a chart of
// serverless against always-on VM cost (or --json); --from/--to take a time or
// an age ("90m" ago); --demo runs a spiky or steady load first (cost-demo.ts)
// and reports on exactly that window.
import type { Command } from 'commander';
import type { CostReport } from '../reports/cost.ts';
import { api, check, CliError, print } from './client.ts';
import { DEMO_KINDS, MAX_DEMO_MS, runDemo, type DemoKind } from './cost-demo.ts';
import { renderReport } from './cost-view.ts';
import { PRICE_PARAMS } from '../reports/cost-query.ts';
import { parseAge } from './flag-kinds.ts';

type CostOptions = {
  from?: string;
  to?: string;
  function?: string;
  bucket?: string;
  json?: boolean;
  demo?: string;
  duration: string;
  engine?: string;
} & { [K in keyof typeof PRICE_PARAMS]?: string };

/** An ISO time as given, or an age ("2h") before now. */
function timeOf(flag: string, text: string): string {
  const ms = parseAge(text);
  if (ms !== undefined && /[a-z]$/.test(text.trim())) return new Date(Date.now() - ms).toISOString();
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) return text;
  throw new CliError(
    `${flag} takes an ISO time (2026-12-01T12:00:00Z) or an age before now (90m, 2h, 1d), not "${text}"`,
    2,
  );
}

/** The demo's bucket: about twelve buckets over the run, whole seconds. */
const demoBucket = (ms: number) => `${Math.max(1, Math.round(ms / 12_000))}s`;

export function registerReportCommands(program: Command): void {
  const report = program.command('report').description('reports computed from activation records');
  report
    .command('cost')
    .description(
      'what the recorded calls cost as serverless against always-on VMs sized for their peak, per time bucket',
    )
    .option('--from <time|age>', 'start: an ISO time, or an age before now such as 2h (default: an hour before --to)')
    .option('--to <time|age>', 'end: an ISO time or an age before now (default: now)')
    .option('--function <name>', "one function's calls (default: every function of the namespace)")
    .option('--bucket <size>', 'bucket size such as 30s, 5m, 1h (default: 5m; a demo picks about twelve buckets)')
    .option('--json', 'print the report as JSON')
    .option(
      '--demo <kind>',
      `first drive a real load at the "cost-demo" function on this machine: ${DEMO_KINDS.join(' or ')}`,
    )
    .option('--duration <age>', 'how long the demo load runs, at most 5m', '2m')
    .option('--engine <engine>', 'engine of the demo function (default: the server default)')
    .option('--gb-second-usd <usd>', "serverless price per GB-second for this report (default: the server's)")
    .option('--per-million-requests-usd <usd>', "serverless price per million requests (default: the server's)")
    .option('--vm-hour-usd <usd>', "one VM's price per hour (default: the server's)")
    .option('--vm-vcpus <n>', "vCPUs of one VM (default: the server's)")
    .option('--vm-memory-mb <mb>', "memory of one VM, MB (default: the server's)")
    .action(async (o: CostOptions) => {
      const query = new URLSearchParams();
      if (o.demo !== undefined) {
        if (!(DEMO_KINDS as readonly string[]).includes(o.demo))
          throw new CliError(`--demo takes ${DEMO_KINDS.join(' or ')}, not "${o.demo}"`, 2);
        const durationMs = parseAge(o.duration);
        if (durationMs === undefined || durationMs < 5000 || durationMs > MAX_DEMO_MS)
          throw new CliError(`--duration takes an age from 5s to 5m, such as 90s, not "${o.duration}"`, 2);
        if (!o.json) process.stderr.write(`driving a ${o.demo} load at cost-demo for ${o.duration}…\n`);
        const run = await runDemo(o.demo as DemoKind, durationMs, o.engine);
        if (!o.json) process.stderr.write(`calls answered: ${JSON.stringify(run.statuses)}\n`);
        query.set('from', new Date(run.fromMs).toISOString());
        query.set('to', new Date(run.toMs).toISOString());
        query.set('bucket', o.bucket ?? demoBucket(run.toMs - run.fromMs));
        query.set('function', 'cost-demo');
      } else {
        if (o.from) query.set('from', timeOf('--from', o.from));
        if (o.to) query.set('to', timeOf('--to', o.to));
        if (o.bucket) query.set('bucket', o.bucket);
        if (o.function) query.set('function', o.function);
      }
      for (const param of Object.keys(PRICE_PARAMS) as (keyof typeof PRICE_PARAMS)[])
        if (o[param] !== undefined) query.set(param, o[param]);
      const body = check(await api('GET', `/v1/reports/cost?${query}`)).body as CostReport;
      print(o.json ? body : renderReport(body));
    });
}
