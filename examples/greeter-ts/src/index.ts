// A TypeScript OpenWhisk-style function with an npm dependency (ms), deployed
// as a directory: nimbus bundles it with esbuild at deploy time.
import ms from 'ms';

interface Params {
  name?: string;
  since?: number;
}

export function main(params: Params): { greeting: string; ago?: string } {
  const greeting = `Hello from TypeScript, ${params.name ?? 'stranger'}!`;
  return params.since ? { greeting, ago: ms(Date.now() - params.since, { long: true }) } : { greeting };
}
