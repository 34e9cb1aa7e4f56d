// What the network-namespace suites share: commands that must succeed, processes run inside a
// namespace whose output can be waited for, a veth pair with fixed MACs and its link-local addresses
// awaited past DAD, and tshark's field output.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const sh = (...args: string[]) => spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout: 20_000 });

export function must(...args: string[]): string {
  const result = sh(...args);
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr || result.error?.message}`);
  return result.stdout;
}

/** Why namespaces (or the tools) cannot be used here, or undefined when they can. */
export function netnsUnavailable(probeName: string, tools: readonly string[]): string | undefined {
  const probe = sh('ip', 'netns', 'add', probeName);
  if (probe.status !== 0 || sh('ip', 'netns', 'del', probeName).status !== 0) return `cannot create network namespaces: ${(probe.stderr || probe.error?.message || '').trim()}`;
  const missing = tools.filter((tool) => sh('sh', '-c', `command -v ${tool}`).status !== 0);
  return missing.length ? `${missing.join(', ')} missing` : undefined;
}

const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

export interface Started {
  readonly child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp): Promise<void>;
  readonly exited: Promise<number | null>;
}

/** Runs `args` in namespace `ns`, killed after `killAfterMs` at the latest. */
export function startIn(ns: string, args: string[], killAfterMs = 30_000): Started {
  return startProcess(['ip', 'netns', 'exec', ns, ...args], killAfterMs);
}

/** Runs `args` (in this process's namespace), killed after `killAfterMs` at the latest. */
export function startProcess(args: string[], killAfterMs = 30_000): Started {
  const child = spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    output += chunk;
    for (const w of [...waiters]) if (w.pattern.test(output)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => (clearTimeout(killer), children.delete(child), resolve(code))));
  return {
    child,
    output: () => output,
    exited,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(output)) return resolve();
        waiters.push({ pattern, resolve });
        void exited.then(() => reject(new Error(`exited before printing ${pattern}:\n${output}`)));
      }),
  };
}

export interface VethEnd {
  readonly ns: string;
  readonly iface: string;
  /** `02:00:…`; the link-local address follows from it (EUI-64). */
  readonly mac: string;
  readonly address: string;
}

/**
 * The EV and SECC ends of one suite's veth pair: namespaces and interfaces named `<prefix>ev<pid>` /
 * `<prefix>se<pid>` (OPENPNC_NETNS_PREFIX, else `defaultPrefix`), MACs 02:00:00:00:0e:<suite> and
 * 02:00:00:00:5e:<suite> with their EUI-64 link-local addresses, so suites never share a name.
 */
export function evSeccEnds(defaultPrefix: string, suite: string): { prefix: string; tag: string; ev: VethEnd; secc: VethEnd } {
  const prefix = process.env.OPENPNC_NETNS_PREFIX ?? defaultPrefix;
  const tag = String(process.pid % 100_000);
  return {
    prefix, tag,
    ev: { ns: `${prefix}ev${tag}`, iface: `${prefix}e${tag}`, mac: `02:00:00:00:0e:${suite}`, address: `fe80::ff:fe00:e${suite}` },
    secc: { ns: `${prefix}se${tag}`, iface: `${prefix}s${tag}`, mac: `02:00:00:00:5e:${suite}`, address: `fe80::ff:fe00:5e${suite}` },
  };
}

/** Two namespaces joined by a veth pair, both ends up with their fixed MACs. */
export function vethPair(a: VethEnd, b: VethEnd): void {
  must('ip', 'netns', 'add', a.ns);
  must('ip', 'netns', 'add', b.ns);
  must('ip', 'link', 'add', a.iface, 'type', 'veth', 'peer', 'name', b.iface);
  for (const end of [a, b]) {
    must('ip', 'link', 'set', end.iface, 'netns', end.ns);
    must('ip', '-n', end.ns, 'link', 'set', end.iface, 'address', end.mac);
    must('ip', '-n', end.ns, 'link', 'set', 'lo', 'up');
    must('ip', '-n', end.ns, 'link', 'set', end.iface, 'up');
  }
}

/** Waits until each end's link-local address is there and no longer tentative (DAD takes 1–2 s; binding before fails). */
export async function linkLocalReady(ends: readonly VethEnd[], giveUpMs = 20_000): Promise<void> {
  const giveUp = Date.now() + giveUpMs;
  for (const { ns, iface, address } of ends) {
    for (;;) {
      const all = must('ip', '-n', ns, '-6', 'addr', 'show', 'dev', iface);
      const tentative = must('ip', '-n', ns, '-6', 'addr', 'show', 'dev', iface, 'tentative');
      if (all.includes(`${address}/64`) && tentative.trim() === '') break;
      assert.ok(Date.now() < giveUp, `${iface}: ${address} still tentative or missing:\n${all}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** tshark's `-T fields` rows of a capture, decrypted with `keyLog` when given. */
export function tshark(pcap: string, keyLog: string | undefined, filter: string, fields: string[], extra: string[] = []): string[][] {
  const args = ['-r', pcap, ...(keyLog ? ['-o', `tls.keylog_file:${keyLog}`] : []), ...extra, '-Y', filter, ...(fields.length ? ['-T', 'fields', ...fields.flatMap((f) => ['-e', f])] : [])];
  const result = spawnSync('tshark', args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  assert.is(result.status, 0, `tshark ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '').map((line) => line.split('\t'));
}

/** Deletes the namespaces (and so the veth between them) at exit and on SIGINT/SIGTERM; returns that cleanup for test.before/after. */
export function removedOnExit(namespaces: readonly string[]): () => void {
  const cleanup = () => namespaces.forEach((ns) => sh('ip', 'netns', 'del', ns));
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(1));
  return cleanup;
}

/** A suite's frame: before it, the pair (fresh); its first test, the link-local addresses past DAD; after it, the cleanup. */
export function vethSuite(test: Test, a: VethEnd, b: VethEnd): void {
  const cleanup = removedOnExit([a.ns, b.ns]);
  test.before(() => {
    cleanup();
    vethPair(a, b);
  });
  test('link-local addresses come up from the fixed MACs once duplicate address detection is done', () => linkLocalReady([a, b]));
  test.after(cleanup);
}

/** tcpdump of the IPv6 traffic on `iface` in `ns` into `pcap`; `stop()` ends it and fails if tcpdump dropped a packet. */
export async function captureIn(ns: string, iface: string, pcap: string, killAfterMs = 110_000): Promise<{ stop(): Promise<void> }> {
  const capture = startIn(ns, ['tcpdump', '-i', iface, '--immediate-mode', '-U', '-w', pcap, 'ip6'], killAfterMs);
  await capture.waitFor(/listening on/);
  return {
    async stop() {
      capture.child.kill('SIGINT');
      await capture.exited;
      const counts = /(\d+) packets captured\n(\d+) packets received by filter/.exec(capture.output());
      assert.ok(counts && counts[1] === counts[2], `tcpdump lost packets: ${capture.output()}`);
    },
  };
}
