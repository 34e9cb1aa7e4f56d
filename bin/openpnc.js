#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072 node --max-semi-space-size=2
// The first line starts a participant as actors/host/runtime.ts says (issue 9); test/host/runtime.test.ts keeps them equal.
// Registers tsx so the TypeScript sources run as they are, then hands over to the CLI.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../actors/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
