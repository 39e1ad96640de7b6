#!/usr/bin/env node
// The `nimbus` command when installed with npm link / npx: loads the
// TypeScript sources through tsx and runs the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
