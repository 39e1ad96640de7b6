#!/usr/bin/env bash
# Runs every test: the type check, then node's test runner over test/**/*.test.ts
# (real processes, sandboxes and services). Extra arguments narrow the files.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

echo "nimbus test: type check"
npx --no-install tsc --noEmit
echo "nimbus test: formatting (npm run format fixes it)"
npx --no-install prettier --check --log-level warn src test bench

if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi
echo "nimbus test: ${#files[@]} test files"
exec node --import tsx --test --test-reporter=spec "${files[@]}"
