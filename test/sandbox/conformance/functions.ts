// The conformance suite's fixture functions (fixtures/*.ts), bundled by a
// test file's `before` hook as the platform bundles a deployed function.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBundledFunctions } from '../../helpers/functions.ts';

const FIXTURE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export const FIXTURES = ['lambda', 'worker', 'openwhisk', 'named', 'env', 'faults', 'load-error', 'stateful'] as const;
export type FixtureName = (typeof FIXTURES)[number];

export function useFixtures<N extends FixtureName>(names: readonly N[]) {
  return useBundledFunctions(FIXTURE_DIR, names);
}
