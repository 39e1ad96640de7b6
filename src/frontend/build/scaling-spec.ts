// The deploy config fields of scaling and records (issue 18): targetConcurrency
// (the autoscaler's calls per sandbox), keepAlive ("adaptive" or fixed ms) and
// records ("all", "errors" or {sample}). compiledScaling adds a field to the
// compiled config only when it differs from the default, so that a config
// from before these fields compares equal to one that does not name them.
import { z } from 'zod';
import type { FunctionConfig } from '../../storage/store.ts';
import { NimbusError } from '../../shared/errors.ts';

export const ScalingFields = {
  targetConcurrency: z
    .number()
    .min(1, 'targetConcurrency must be at least 1 (the autoscaler already keeps 30% spare)')
    .max(1000, 'targetConcurrency must be at most 1000')
    .optional(),
  keepAlive: z
    .union([z.literal('adaptive'), z.number().int().min(100).max(86_400_000)], {
      error: 'keepAlive must be "adaptive" or a number of ms from 100 to 86400000 (a day)',
    })
    .optional(),
  records: z
    .union([z.enum(['all', 'errors']), z.object({ sample: z.number().min(0).max(1) }).strict()], {
      error: 'records must be "all", "errors" or {"sample": r} with r from 0 to 1',
    })
    .optional(),
};

type ScalingInput = {
  targetConcurrency?: number;
  keepAlive?: 'adaptive' | number;
  records?: 'all' | 'errors' | { sample: number };
};
type Scaling = Pick<FunctionConfig, 'targetConcurrency' | 'keepAlive' | 'records'>;

export function compiledScaling(c: ScalingInput, concurrency: number): Scaling {
  if (c.targetConcurrency !== undefined && c.targetConcurrency > concurrency)
    throw new NimbusError(
      'bad_request',
      `targetConcurrency (${c.targetConcurrency}) is over concurrency (${concurrency}): a sandbox never runs more than concurrency calls; ask for at most ${concurrency}`,
    );
  return {
    ...(c.targetConcurrency !== undefined && c.targetConcurrency !== concurrency
      ? { targetConcurrency: c.targetConcurrency }
      : {}),
    ...(typeof c.keepAlive === 'number' ? { keepAlive: c.keepAlive } : {}),
    ...(c.records !== undefined && c.records !== 'all' ? { records: c.records } : {}),
  };
}
