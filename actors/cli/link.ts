// `openpnc slac …` and `openpnc modem sim …`: the power line (ISO 15118-3 SLAC) for lab use.
import { CliError, parseFlags, wantsHelp, type Command } from './command.ts';
import { PncError } from '../../protocols/errors.ts';
import { systemLinkClock } from '../link/clock.ts';
import { ModemSim } from '../link/modem-sim.ts';
import { SimulatedPilot } from '../link/port.ts';
import { openRawEthernet } from '../link/raw-ethernet.ts';
import { chargerRow } from '../link/row.ts';
import { SlacStation } from '../link/station.ts';
import { percentile } from '../../bench/stats.ts';

const slacUsage = `usage: openpnc slac <ev|evse> --if IF [--timeout S] [--keep]
       openpnc slac sim [--chargers N] [--loss P] [--seed N]

  ev | evse     run one side of SLAC alone on a host interface (ethertype 0x88E1 through libpcap),
                printing each step; the control pilot is simulated at state B with 5 % PWM.
                Exits 0 once the link is up (with --keep: stays, reports link loss), 1 on failure.
  sim           a row of chargers with an EV plugged into each, on the in-memory power line with
                cross-talk; prints matches, wrong matches and plug-in → match times (simulated)

options:
  --if IF          host interface (a QCA7000 netdev, a home-plug adapter's port, a veth)
  --timeout S      give up after S seconds (default 60)
  --keep           keep the link after it is up (Ctrl-C to stop)
  --chargers N     chargers in the row (default 50)
  --loss P         frame loss on the line, 0–1 (default 0.02)
  --seed N         random seed of the simulation (default 15118)
  -h, --help       show this help`;

const modemUsage = `usage: openpnc modem sim --ev-if IF --evse-if IF [--attenuation DB] [--gate]

  Bridges an EV host interface and a charger host interface as two QCA modems and the power line
  would: answers CM_SET_KEY (result 1, as QCA firmware), CM_GET_KEY, VS_SW_VER, VS_PL_LINK_STATUS and
  VS_NW_INFO locally, emits one CM_ATTEN_PROFILE.IND per M-Sound toward the charger host, and relays
  everything else. Runs until interrupted.

options:
  --ev-if IF          interface toward the EV host
  --evse-if IF        interface toward the charger host
  --attenuation DB    attenuation of the simulated line (default 12)
  --gate              pass IP only once both hosts hold the same NMK
  -h, --help          show this help`;

function number(text: string | undefined, fallback: number, name: string, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) throw new CliError(`--${name} must be a number from ${min} to ${max}`);
  return value;
}

/** Resolves on SIGINT/SIGTERM or after `ms`; `cancel` lets the process exit without waiting. */
function until(ms: number): { ended: Promise<string>; cancel(): void } {
  let cancel = () => {};
  const ended = new Promise<string>((resolve) => {
    const timer = setTimeout(() => finish('timeout'), ms);
    const onInt = () => finish('SIGINT');
    const onTerm = () => finish('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    function finish(why: string) {
      clearTimeout(timer);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(why);
    }
    cancel = () => finish('cancelled');
  });
  return { ended, cancel };
}

async function runSide(role: 'ev' | 'evse', ifname: string, timeoutMs: number, keep: boolean): Promise<number> {
  const port = openRawEthernet(ifname);
  const pilot = new SimulatedPilot();
  const started = Date.now();
  const print = (text: string) => console.log(`+${String(Date.now() - started).padStart(5)} ms  ${text}`);
  const station = new SlacStation({ role, port, clock: systemLinkClock, pilot });
  let result: number | undefined;
  const deadline = until(timeoutMs);
  const finished = new Promise<number>((resolve) => {
    station.on('step', print);
    station.on('up', (up) => {
      print(`link up with ${up.peerMac}: NID ${up.matched.nid}; IPv6 ${up.linkLocal}%${ifname} ↔ ${up.peerLinkLocal}%${ifname}`);
      if (!keep) resolve((result = 0));
    });
    station.on('down', (reason) => print(`link down: ${reason}`));
    station.on('failed', (error) => { print(`failed: ${error.code}: ${error.message}`); resolve((result = 1)); });
    void deadline.ended.then((why) => { if (result === undefined) { print(why === 'timeout' ? 'timed out' : 'interrupted'); resolve(why === 'timeout' ? 1 : 0); } });
  });
  print(`${role === 'ev' ? 'EV' : 'charger'} on ${ifname} (${port.mac}); control pilot B, 5 % PWM`);
  station.start();
  pilot.set('B', true);
  const code = await finished;
  deadline.cancel();
  station.stop();
  await port.close();
  return code;
}

function runSim(chargers: number, loss: number, seed: number): number {
  const row = chargerRow({ size: chargers, lossRate: loss, delayMs: 2, seed });
  row.settle(300_000);
  const matched = row.plugs.filter((p) => p.matchedEvse !== undefined);
  const wrong = matched.filter((p) => p.matchedEvse !== p.evse.mac).length;
  const times = Float64Array.from(matched.map((p) => p.matchedAt! - p.pluggedAt)).sort();
  console.log(`${chargers} chargers, ${(loss * 100).toFixed(1)} % loss: ${matched.length} matched, ${wrong} wrong; plug-in → match median ${percentile(times, 0.5)} ms, p99 ${percentile(times, 0.99)} ms (simulated)`);
  row.stop();
  return matched.length === chargers && wrong === 0 ? 0 : 1;
}

export const slacCommand: Command = {
  summary: 'SLAC (ISO 15118-3) on an interface, one side alone, or a simulated row of chargers',
  usage: slacUsage,
  async run(argv) {
    if (wantsHelp(argv)) { console.log(slacUsage); return 0; }
    const { positionals, values } = parseFlags(argv, {
      if: { type: 'string' }, timeout: { type: 'string' }, keep: { type: 'boolean' }, chargers: { type: 'string' }, loss: { type: 'string' }, seed: { type: 'string' },
    });
    const [role] = positionals;
    if (positionals.length !== 1) throw new CliError('expected one of ev, evse, sim (see openpnc slac --help)');
    if (role === 'sim') return runSim(number(values.chargers, 50, 'chargers', 1, 5000), number(values.loss, 0.02, 'loss', 0, 0.5), number(values.seed, 15118, 'seed', 0, 2 ** 31));
    if (role !== 'ev' && role !== 'evse') throw new CliError(`unknown side '${role}' (see openpnc slac --help)`);
    if (!values.if) throw new CliError('--if IF is required');
    try {
      return await runSide(role, values.if, number(values.timeout, 60, 'timeout', 1, 86_400) * 1000, values.keep ?? false);
    } catch (error) {
      if (error instanceof PncError) throw new CliError(`${error.code}: ${error.message}`);
      throw error;
    }
  },
};

export const modemCommand: Command = {
  summary: 'a QCA modem pair and power line between two interfaces (modem stand-in for tests)',
  usage: modemUsage,
  async run(argv) {
    if (wantsHelp(argv)) { console.log(modemUsage); return 0; }
    const { positionals, values } = parseFlags(argv, { 'ev-if': { type: 'string' }, 'evse-if': { type: 'string' }, attenuation: { type: 'string' }, gate: { type: 'boolean' } });
    if (positionals[0] !== 'sim' || positionals.length !== 1) throw new CliError('expected: openpnc modem sim --ev-if IF --evse-if IF (see openpnc modem --help)');
    if (!values['ev-if'] || !values['evse-if']) throw new CliError('--ev-if IF and --evse-if IF are required');
    const attenuationDb = number(values.attenuation, 12, 'attenuation', 0, 90);
    let ev, evse;
    try {
      ev = openRawEthernet(values['ev-if'], { filter: '' });
      evse = openRawEthernet(values['evse-if'], { filter: '' });
    } catch (error) {
      await ev?.close();
      if (error instanceof PncError) throw new CliError(`${error.code}: ${error.message}`);
      throw error;
    }
    const sim = new ModemSim({ ev, evse, attenuationDb, gate: values.gate ?? false });
    sim.on('step', (text) => console.log(text));
    sim.start();
    await until(2 ** 31 - 1).ended;
    await sim.stop();
    await Promise.all([ev.close(), evse.close()]);
    console.log(`modem sim stopped: ${JSON.stringify(sim.stats)}`);
    return 0;
  },
};
