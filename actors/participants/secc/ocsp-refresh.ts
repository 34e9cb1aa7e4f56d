/**
 * Keeps the SECC's OCSP cache fresh for stapling, as EVerest's OCSP updater does with M06
 * GetCertificateStatus: one round at once, then at `nextOcspRefreshAt` (daily, an hour before the
 * earliest cached nextUpdate, five minutes after a failure), and one at once whenever a new leaf is
 * installed (its staple must not wait a day). Timers come from the injected clock. With `renewLeaf`
 * each round first keeps the SECC leaf valid (`ensureLeaf`: a new one from the backend once fewer than
 * 30 days remain, as EVerest's daily leaf check does; the leaf it installs is refreshed in that same
 * round), and a round is also due when the leaf enters that window, so a station that runs for months
 * renews without a restart.
 */
import { nextOcspRefreshAt } from '../../../protocols/pki/index.ts';
import { PncError, toPncError } from '../../../protocols/errors.ts';
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

/** The subject a renewed SECC leaf is requested for. */
export interface LeafSubject {
  readonly commonName: string;
  readonly organization: string;
}

export function keepOcspFresh(security: SeccSecurity, backend: CpoBackendPort, clock: WallClock, onRefresh?: (outcome: OcspRefresh | PncError) => void, renewLeaf?: LeafSubject): OcspRefresher {
  let timer: unknown;
  let nextAt: number | undefined;
  let stopped = false;
  let running: Promise<OcspRefresh | PncError> | undefined;
  let again: Promise<OcspRefresh | PncError> | undefined;
  /** While a round's own `ensureLeaf` runs: the leaf it installs gets this round's OCSP refresh, not another round. */
  let checkingLeaf = false;

  const arm = (outcome: OcspRefresh | PncError, renewLeafAt: number | undefined) => {
    if (stopped) return;
    clock.clearTimeout(timer);
    const failed = !('cached' in outcome) || outcome.failed > 0 || outcome.leafCheck instanceof PncError;
    nextAt = nextOcspRefreshAt(clock.now(), { nextUpdates: 'cached' in outcome ? outcome.nextUpdates : [], failed, ...(renewLeafAt === undefined ? {} : { renewLeafAt }) });
    timer = clock.setTimeout(() => void refreshNow(), Math.max(0, nextAt - clock.now()));
  };

  async function round(): Promise<OcspRefresh | PncError> {
    let outcome: OcspRefresh | PncError;
    let leafCheck: OcspRefresh['leafCheck'];
    let renewLeafAt: number | undefined;
    try {
      if (renewLeaf) {
        // A backend that cannot sign now is retried soon; the OCSP round still runs for the leaf held.
        checkingLeaf = true;
        leafCheck = await security.ensureLeaf(backend, renewLeaf).catch(toPncError).finally(() => (checkingLeaf = false));
        renewLeafAt = await security.leafRenewalAt();
      }
      const refreshed = await security.refreshOcsp(backend);
      outcome = leafCheck === undefined ? refreshed : { ...refreshed, leafCheck };
    } catch (error) {
      outcome = toPncError(error);
    }
    arm(outcome, renewLeafAt);
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

  const onLeafInstalled = () => {
    if (!checkingLeaf) void refreshNow();
  };
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
