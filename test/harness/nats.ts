// Real nats-server processes for the suites (actors/nats/local-server.ts), and the rule for skipping.
import { findNatsServer } from '../../actors/nats/local-server.ts';

export * from '../../actors/nats/local-server.ts';

/**
 * True when nats-server is installed. Otherwise prints `SKIPPED: NATS suite (nats-server not installed)`
 * and returns false, except under `CI=true`, where a missing server is an error.
 */
export function natsServerAvailable(suite = 'NATS suite'): boolean {
  if (findNatsServer()) return true;
  if (process.env.CI === 'true') throw new Error(`${suite}: nats-server is not installed and CI=true forbids skipping`);
  console.log(`SKIPPED: ${suite} (nats-server not installed)`);
  return false;
}

