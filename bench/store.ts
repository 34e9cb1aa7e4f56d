// Embedded store and actor host cost, with baselines measured in the same run:
// - insert and compare-and-set replace through the Store port vs raw better-sqlite3 statements on the
//   same pragmas (what the port costs), and vs synchronous=NORMAL (what durability against power loss costs);
// - group commit: inserts with IN_FLIGHT writers at once through the port vs one at a time, and vs raw
//   better-sqlite3 committing IN_FLIGHT rows per transaction (the ceiling for that batch size);
// - indexed find by a dotted field;
// - hosted actor events (each persisted before `send` resolves) vs a bare XState actor (what durability costs per event);
//   XState's inspection is on only while a listener is subscribed (none in the target case), and a second fleet run with
//   a listener on `inspect.>` shows what being inspected costs;
// - the disk's own limit, measured in the same round beside the fleet in the store's directory: raw better-sqlite3
//   single-row synchronous=FULL transactions per second and fdatasync per second of a plain file. With each actor
//   waiting for its last event to be durable, `commits/s × writes per commit` is the most the fleet can reach.
// Each round measures every case in turn so machine noise hits them alike; medians over the rounds.
//
//   npm run bench:store [-- --rounds=5 --ops=1000 --in-flight=32 --ms=500]   (--ms: how long each actor case runs per round)
import Database from 'better-sqlite3';
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { assign, createActor, setup } from 'xstate';
import { createMemoryBus } from '../actors/bus/index.ts';
import { createLogger, hostActor } from '../actors/host/index.ts';
import { EMBEDDED_STORE_FILE } from '../actors/store/embedded.ts';
import { openEmbeddedStore, type StoredDoc } from '../actors/store/index.ts';
import { tempDir } from '../test/harness/temp-dir.ts';
import { cpuSeconds, machineLoad, median, printSummary } from './stats.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, ops: { type: 'string', default: '1000' }, 'in-flight': { type: 'string', default: '32' }, ms: { type: 'string', default: '500' } } });
const ROUNDS = Number(values.rounds);
const OPS = Number(values.ops);
const IN_FLIGHT = Number(values['in-flight']);
// The actor cases run for a time, not a count: 1,000 bare XState events took 2 ms and a fleet round
// 30–130 ms, so one scavenge or one slow fsync could move a round 3×.
const ACTOR_MS = Number(values.ms);
if (![ROUNDS, OPS, IN_FLIGHT, ACTOR_MS].every((n) => Number.isInteger(n) && n > 0)) throw new Error('--rounds, --ops, --in-flight and --ms must be positive integers');

interface Cert extends StoredDoc {
  serial: string;
  issuer: { name: string };
  n: number;
}
const doc = (round: number, i: number): Cert => ({ _id: `r${round}-${i}`, serial: `${round}-${i}`, issuer: { name: `CA${i % 10}` }, n: i });

/** Operations per second of `ops` awaited calls, `inFlight` of them issued at a time (default one by one). */
async function rate(ops: number, call: (i: number, worker: number) => unknown, inFlight = 1): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, async (_, worker) => {
    while (next < ops) await call(next++, worker);
  }));
  return ops / (Number(process.hrtime.bigint() - started) / 1e9);
}

/**
 * Awaited calls made in about `ms`, `inFlight` at a time (none starts after `ms`), and the seconds they took.
 * Not stats.ts measureLoad: that also times each call, which at 2 µs a bare XState event would be part of the figure.
 */
async function callsFor(ms: number, call: (worker: number) => unknown, inFlight = 1): Promise<{ calls: number; seconds: number; rate: number }> {
  let calls = 0;
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(Array.from({ length: inFlight }, async (_, worker) => {
    while (performance.now() < deadline) {
      await call(worker);
      calls += 1;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  return { calls, seconds, rate: calls / seconds };
}

/** Calls per second of a synchronous `call` repeated for about `ms`. */
function syncRate(ms: number, call: (i: number) => void): number {
  const started = performance.now();
  let calls = 0;
  while (performance.now() - started < ms) call(calls++);
  return calls / ((performance.now() - started) / 1000);
}

/** fdatasync per second of a 4 KiB write to a file in `dir` (the bare disk flush SQLite's commit waits for). */
function fdatasyncRate(dir: string, ms: number): number {
  const fd = openSync(join(dir, 'fdatasync-probe'), 'w');
  const page = Buffer.alloc(4096, 1);
  try {
    return syncRate(ms, () => {
      writeSync(fd, page, 0, page.length, 0);
      fdatasyncSync(fd);
    });
  } finally {
    closeSync(fd);
  }
}

/** Single-row transactions per second of raw better-sqlite3 (WAL, synchronous=FULL) on a file in `dir`: one commit, one fsync each. */
function rawCommitRate(dir: string, ms: number): number {
  const db = new Database(join(dir, 'commit-probe.sqlite'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, doc TEXT NOT NULL)');
    const upsert = db.prepare('INSERT OR REPLACE INTO t (id, doc) VALUES (?, ?)');
    return syncRate(ms, (i) => upsert.run(i % 32, '{"n":1}'));
  } finally {
    db.close();
  }
}

const counter = setup({ types: { context: {} as { n: number }, events: {} as { type: 'INC' } } }).createMachine({
  id: 'counter', context: { n: 0 }, on: { INC: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
});

const loadStart = machineLoad();
const samples = new Map<string, number[]>();
/** Per round: the fleet's rate over the bare XState rate of the same round. */
const fleetOverBare: number[] = [];
/** Per round: the fleet's rate over the disk's ceiling measured beside it. */
const fleetOverCeiling: number[] = [];
const record = (name: string, value: number) => samples.set(name, [...(samples.get(name) ?? []), value]);

for (let round = 0; round < ROUNDS; round += 1) {
  // The port, synchronous=FULL (the default).
  const dir = tempDir('bench-store');
  const probeDir = tempDir('bench-disk'); // the same file system as the store's
  const store = await openEmbeddedStore(dir);
  const certs = store.collection<Cert>('certs');
  await certs.ensureIndex({ fields: ['issuer.name'] });
  record('insert: Store port (FULL)', await rate(OPS, (i) => certs.insert(doc(round, i))));
  record('replace with CAS: Store port (FULL)', await rate(OPS, (i) => certs.replace(doc(round, i), { expectedRev: 1 })));
  record('find by indexed dotted field (100 of 1000)', await rate(Math.max(1, OPS / 10), () => certs.find({ 'issuer.name': 'CA3' })));
  const before = store.stats();
  record(`insert: Store port, ${IN_FLIGHT} in flight (FULL)`, await rate(OPS, (i) => certs.insert(doc(round, OPS + i)), IN_FLIGHT));
  const after = store.stats();
  record(`  writes per commit, ${IN_FLIGHT} in flight`, (after.writes - before.writes) / (after.commits - before.commits));

  // Raw better-sqlite3 on the same file layout and pragmas: the baseline for the port's own cost.
  const raw = new Database(`${tempDir('bench-raw')}/${EMBEDDED_STORE_FILE}`);
  raw.pragma('journal_mode = WAL');
  for (const sync of ['FULL', 'NORMAL'] as const) {
    raw.pragma(`synchronous = ${sync}`);
    raw.exec(`DROP TABLE IF EXISTS t; CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, rev INTEGER NOT NULL, doc TEXT NOT NULL)`);
    const insert = raw.prepare('INSERT INTO t (id, rev, doc) VALUES (?, 1, ?)');
    record(`insert: raw better-sqlite3 (${sync})`, await rate(OPS, (i) => insert.run(`r${round}-${i}`, JSON.stringify(doc(round, i)))));
  }
  raw.pragma('synchronous = FULL');
  const insertRaw = raw.prepare('INSERT INTO t (id, rev, doc) VALUES (?, 1, ?)');
  const insertMany = raw.transaction((from: number) => {
    for (let i = from; i < from + IN_FLIGHT; i += 1) insertRaw.run(`r${round}-${OPS + i}`, JSON.stringify(doc(round, OPS + i)));
  });
  record(`insert: raw better-sqlite3, ${IN_FLIGHT} per transaction (FULL)`, IN_FLIGHT * (await rate(Math.ceil(OPS / IN_FLIGHT), (i) => insertMany(i * IN_FLIGHT))));
  raw.close();

  // Hosted actor: every event persisted before send resolves; baseline a bare XState actor.
  const bus = createMemoryBus({ store });
  const hosted = await hostActor({ participant: 'bench', id: `counter-${round}`, logic: counter, context: { bus, store, log: createLogger({ write: () => {} }) } });
  record('actor event: hosted (persisted, no inspect listener)', await rate(OPS, () => hosted.send({ type: 'INC' })));
  await hosted.stop();
  // IN_FLIGHT actors, each sending its next event once the last one is durable: what group commit serves.
  const fleet = await Promise.all(Array.from({ length: IN_FLIGHT }, (_, a) => hostActor({ participant: 'bench', id: `fleet-${round}-${a}`, logic: counter, context: { bus, store, log: createLogger({ write: () => {} }) } })));
  // The disk's limit just before and after the fleet (its neighbours' load changes by the second): the mean of the two.
  const commitsBefore = rawCommitRate(probeDir, 300);
  const fleetBefore = store.stats();
  const fleetCpu = cpuSeconds();
  const fleetRun = await callsFor(ACTOR_MS, (worker) => fleet[worker].send({ type: 'INC' }), IN_FLIGHT);
  const fleetRate = fleetRun.rate;
  record(`actor event: hosted, ${IN_FLIGHT} actors in flight`, fleetRate);
  record(`actor event: hosted, ${IN_FLIGHT} actors in flight, per CPU-second`, fleetRun.calls / (cpuSeconds() - fleetCpu));
  const fleetAfter = store.stats();
  const fleetCommits = fleetAfter.commits - fleetBefore.commits;
  const writesPerCommit = (fleetAfter.writes - fleetBefore.writes) / fleetCommits;
  const rawCommits = (commitsBefore + rawCommitRate(probeDir, 300)) / 2;
  record(`  writes per commit, ${IN_FLIGHT} actors in flight`, writesPerCommit);
  record(`  commits per second, ${IN_FLIGHT} actors in flight`, fleetCommits / fleetRun.seconds);
  record('disk: raw better-sqlite3 single-row commits/s (FULL)', rawCommits);
  record('disk: fdatasync/s (4 KiB, same file system)', fdatasyncRate(probeDir, 300));
  record(`ceiling: raw commits/s × ${IN_FLIGHT} actors' writes per commit`, rawCommits * writesPerCommit);
  fleetOverCeiling.push(fleetRate / (rawCommits * writesPerCommit));
  // The same fleet while an inspector listens on `inspect.>`: XState's inspection on, and every event and snapshot published.
  const inspector = await bus.subscribe('inspect.>', () => {});
  const inspectedCpu = cpuSeconds();
  const inspectedRun = await callsFor(ACTOR_MS, (worker) => fleet[worker].send({ type: 'INC' }), IN_FLIGHT);
  record(`actor event: hosted, ${IN_FLIGHT} actors in flight, inspect.> listener`, inspectedRun.rate);
  record(`actor event: hosted, ${IN_FLIGHT} actors in flight, inspect.> listener, per CPU-second`, inspectedRun.calls / (cpuSeconds() - inspectedCpu));
  await inspector.unsubscribe();
  for (const actor of fleet) await actor.stop();
  const bare = createActor(counter).start();
  await rate(10_000, () => bare.send({ type: 'INC' })); // warm-up: a cold JIT would flatter every ratio to it
  record('actor event: bare XState (baseline)', (await callsFor(ACTOR_MS, () => bare.send({ type: 'INC' }))).rate);
  fleetOverBare.push(fleetRate / samples.get('actor event: bare XState (baseline)')![round]);
  bare.stop();
  await bus.close();
  await store.close();
}

const medians = new Map([...samples].map(([name, xs]) => [name, median(xs)]));
const ratio = (a: string, b: string) => `${(medians.get(a)! / medians.get(b)!).toFixed(2)}×`;
console.log(`bench:store — ${ROUNDS} rounds × ${OPS} ops (one at a time unless in flight), medians (ops/s), temp dir on the system disk`);
for (const [name, value] of medians) console.log(`  ${name.padEnd(52)} ${Math.round(value).toString().padStart(10)}`);
console.log('ratios:');
console.log(`  Store port insert / raw insert (both FULL)            ${ratio('insert: Store port (FULL)', 'insert: raw better-sqlite3 (FULL)')}`);
console.log(`  ${`group commit: ${IN_FLIGHT} in flight / one at a time`.padEnd(53)} ${ratio(`insert: Store port, ${IN_FLIGHT} in flight (FULL)`, 'insert: Store port (FULL)')}`);
console.log(`  ${`group commit / raw ${IN_FLIGHT} per transaction`.padEnd(53)} ${ratio(`insert: Store port, ${IN_FLIGHT} in flight (FULL)`, `insert: raw better-sqlite3, ${IN_FLIGHT} per transaction (FULL)`)}`);
console.log(`  raw insert FULL / NORMAL (price of power-loss safety)  ${ratio('insert: raw better-sqlite3 (FULL)', 'insert: raw better-sqlite3 (NORMAL)')}`);
console.log(`  hosted actor event / bare XState event                 ${ratio('actor event: hosted (persisted, no inspect listener)', 'actor event: bare XState (baseline)')}`);
const fleetCpuUs = 1e6 / medians.get(`actor event: hosted, ${IN_FLIGHT} actors in flight, per CPU-second`)!;
const rawCommitMs = 1000 / medians.get('disk: raw better-sqlite3 single-row commits/s (FULL)')!;
const fleetCommitMs = 1000 / medians.get(`  commits per second, ${IN_FLIGHT} actors in flight`)!;
console.log(`  ${`fleet / ceiling (raw commits/s × writes per commit)`.padEnd(53)} ${median(fleetOverCeiling).toFixed(2)}× (per round ${fleetOverCeiling.map((r) => r.toFixed(2)).join(', ')})`);
console.log(`  fleet with an inspect.> listener: ${(1e6 / medians.get(`actor event: hosted, ${IN_FLIGHT} actors in flight, inspect.> listener, per CPU-second`)!).toFixed(0)} µs CPU per event (both threads)`);
console.log(`  fleet: ${fleetCpuUs.toFixed(0)} µs CPU per event (both threads); one commit cycle ${fleetCommitMs.toFixed(2)} ms = a raw commit ${rawCommitMs.toFixed(2)} ms + ${(fleetCommitMs - rawCommitMs).toFixed(2)} ms of everything else (${IN_FLIGHT} events' CPU, the thread handoff, a larger commit)`);

const loadEnd = machineLoad();
const fleetName = `actor event: hosted, ${IN_FLIGHT} actors in flight`;
const fleetRates = samples.get(fleetName)!;
const bareRate = medians.get('actor event: bare XState (baseline)')!;
printSummary({
  path: `hosted actor event, persisted, inspection on demand (no listener), ${IN_FLIGHT} actors in flight`,
  value: medians.get(fleetName)!, unit: 'events/s', min: Math.min(...fleetRates), max: Math.max(...fleetRates), target: 30_000,
  baseline: `ceiling ${Math.round(medians.get(`ceiling: raw commits/s × ${IN_FLIGHT} actors' writes per commit`)!)} events/s = ${Math.round(medians.get('disk: raw better-sqlite3 single-row commits/s (FULL)')!)} raw FULL commits/s × ${medians.get(`  writes per commit, ${IN_FLIGHT} actors in flight`)!.toFixed(1)} writes per commit (fleet / ceiling ${median(fleetOverCeiling).toFixed(2)}×; fdatasync ${Math.round(medians.get('disk: fdatasync/s (4 KiB, same file system)')!)}/s); ${Math.round(medians.get(`${fleetName}, per CPU-second`)!)} events per CPU-second (${fleetCpuUs.toFixed(0)} µs CPU per event)`,
  loadStart, loadEnd,
});
const perRound = fleetOverBare;
printSummary({
  path: `hosted actor event (${IN_FLIGHT} in flight) / bare XState event`,
  value: median(perRound), unit: '×', min: Math.min(...perRound), max: Math.max(...perRound), target: 0.1,
  baseline: `bare XState ${Math.round(bareRate)} events/s`,
  loadStart, loadEnd,
});
