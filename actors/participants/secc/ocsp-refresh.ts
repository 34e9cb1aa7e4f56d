/**
 * Keeps the SECC's OCSP cache fresh for stapling, as EVerest's OCSP updater does with M06
 * GetCertificateStatus: one round at once, then at `nextOcspRefreshAt` (daily, an hour before the
 * earliest cached nextUpdate, five minutes after a failure), and one at once whenever a new leaf is
 * installed (its staple must not wait a day). Timers come from the injected clock.
 */
import { nextOcspRefreshAt } from '../../../protocols/pki/index.ts';
import { toPncError, type PncError } from '../../../protocols/errors.ts';
import type { WallClock } from '../../transport/timers.ts';
import type { CpoBackendPort } from './backend.ts';
import type { OcspRefresh, SeccSecurity } from './security.ts';

export interface OcspRefresher {
  /** The first round; resolves with its outcome (an unreachable backend is an outcome, not a rejection). */
  readonly ready: Promise<OcspRefresh | PncError>;
  /** When the next round is due (ms since the epoch on the clock); undefined once stopped. */
  readonly nextAt: number | undefined;
  /** Runs a round now (or joins the running one and runs another after it) and re-arms. */
  refreshNow(): Promise<OcspRefresh | PncError>;
  stop(): void;
}

export function keepOcspFresh(security: SeccSecurity, backend: CpoBackendPort, clock: WallClock, onRefresh?: (outcome: OcspRefresh | PncError) => void): OcspRefresher {
  let timer: unknown;
  let nextAt: number | undefined;
  let stopped = false;
  let running: Promise<OcspRefresh | PncError> | undefined;
  let again: Promise<OcspRefresh | PncError> | undefined;

  const arm = (outcome: OcspRefresh | PncError) => {
    if (stopped) return;
    clock.clearTimeout(timer);
    const failed = !('cached' in outcome) || outcome.failed > 0;
    nextAt = nextOcspRefreshAt(clock.now(), { nextUpdates: 'cached' in outcome ? outcome.nextUpdates : [], failed });
    timer = clock.setTimeout(() => void refreshNow(), Math.max(0, nextAt - clock.now()));
  };

  async function round(): Promise<OcspRefresh | PncError> {
    let outcome: OcspRefresh | PncError;
    try {
      outcome = await security.refreshOcsp(backend);
    } catch (error) {
      outcome = toPncError(error);
    }
    arm(outcome);
    onRefresh?.(outcome);
    return outcome;
  }

  function refreshNow(): Promise<OcspRefresh | PncError> {
    if (stopped) return Promise.resolve(toPncError(new Error('the OCSP refresher is stopped')));
    // A leaf installed during a round must get a round of its own after it, not share the old one.
    if (running) return (again ??= running.then(() => { again = undefined; return refreshNow(); }));
    running = round().finally(() => (running = undefined));
    return running;
  }

  const onLeafInstalled = () => void refreshNow();
  security.on('leafInstalled', onLeafInstalled);
  const ready = refreshNow();
  return {
    ready,
    get nextAt() { return nextAt; },
    refreshNow,
    stop() {
      stopped = true;
      nextAt = undefined;
      clock.clearTimeout(timer);
      security.off('leafInstalled', onLeafInstalled);
    },
  };
}
