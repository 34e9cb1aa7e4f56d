// Three hosts in three Linux network namespaces on a private bridge, a 3-node NATS JetStream cluster
// across them, the participants spread over the hosts (the CPO backend on two, one queue group), the
// story played from a client namespace by `openpnc deploy netns up`, NATS over TLS. Then a node that
// participant hosts are connected to (the work stream's leader when it is one) is killed: they
// reconnect to the others, and the remaining cluster still carries a whole story: contract signing
// through JetStream and an installation.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NAMESPACE_PREFIX, listNamespaces, localTopology, namespacePids, netnsAvailable, netnsDown, nodeStatus, hostNamespace, type NodeStatus } from '../../deploy/netns.ts';
import { readTopology } from '../../deploy/topology.ts';
import { natsServerAvailable } from '../harness/nats.ts';

const BIN = new URL('../../bin/openpnc.js', import.meta.url).pathname;
const EXAMPLE = new URL('../../deploy/topologies/three-hosts.json', import.meta.url).pathname;

function openpnc(...args: string[]): Promise<{ code: number; output: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code: code ?? 1, output, ms: Date.now() - started })));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

if (!netnsAvailable()) {
  console.log('SKIPPED: netns deploy suite (needs root and iproute2)');
} else if (natsServerAvailable('netns deploy suite')) {
  const workDir = mkdtempSync(join(tmpdir(), 'openpnc-netns-'));
  const topology = localTopology(readTopology(EXAMPLE), workDir);

  test('three namespaces, a 3-node cluster, the story, then a node lost and the story again', async () => {
    await netnsDown(); // what an earlier crashed run left
    try {
      const up = await openpnc('deploy', 'netns', 'up', '--topology', EXAMPLE, '--work', workDir);
      console.log(`  netns up + story: ${up.ms} ms`);
      assert.is(up.code, 0, up.output);
      const ns = NAMESPACE_PREFIX;
      assert.ok(up.output.includes(`namespaces: ${ns}pki 10.231.0.11 (pnc-pki.example.net), ${ns}partners 10.231.0.12 (pnc-partners.example.net), ${ns}contracts 10.231.0.13 (pnc-contracts.example.net), ${ns}-client 10.231.0.2`), up.output);
      assert.match(up.output, /TLS \(clients verify the node, routes verify each other\), credentials \(an nkey per participant/);
      assert.match(up.output, /^contracts: ccp, cpo ready$/m);
      assert.match(up.output, /^✓ verified: CertificateInstallationRes for \S+ signed by CPS Leaf verifies up to the V2G root/m);
      assert.ok(listNamespaces().includes(hostNamespace('contracts')));

      // One JetStream cluster of three, the work stream replicated on all three, seen from every node.
      const statuses = await Promise.all(topology.hosts.map((host) => nodeStatus(topology, host.name)));
      for (const status of statuses) {
        assert.ok(status.up, `${status.host} down`);
        assert.is(status.clusterSize, 3);
        assert.is(status.metaLeader, statuses[0].metaLeader);
      }
      const workLeader = statuses[0].streamLeaders.PNC_WORK!;
      assert.ok(topology.hosts.some((host) => host.name === workLeader), `PNC_WORK leader ${workLeader}`);
      // The CPO backend on two hosts is one queue group: two client connections subscribe as 'cpo'.
      const cpoClients = statuses.flatMap((s) => s.clients).filter((client) => client.queues.includes('cpo'));
      assert.equal(cpoClients.map((client) => client.name).sort(), ['openpnc cpo (ccp cpo)', 'openpnc cpo (oem mo cps cpo)']);
      // Every participant has its own connection (its own nkey), over TLS.
      const participantClients = statuses.flatMap((s) => s.clients).filter((client) => client.name.startsWith('openpnc '));
      assert.is(participantClients.length, 9);
      for (const client of participantClients) assert.match(client.tls ?? 'plain TCP', /^1\.[23]$/, client.name);
      // A client without the cluster CA is turned away, and so is one with the CA but without a credential.
      const storyFromClient = (env: Record<string, string>) => new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn('ip', ['netns', 'exec', `${ns}-client`, process.execPath, BIN, 'story', '--nats', 'nats://pnc-pki.example.net:4222'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
        let output = '';
        child.stderr.on('data', (chunk) => (output += chunk));
        child.once('close', (code) => resolve({ code, output }));
      });
      const untrusting = await storyFromClient({});
      assert.is(untrusting.code, 1);
      assert.match(untrusting.output, /^openpnc: bus unavailable: .*(certificate|verify)/);
      const anonymous = await storyFromClient({ NODE_EXTRA_CA_CERTS: join(workDir, 'tls', 'ca.pem') });
      assert.is(anonymous.code, 1);
      assert.match(anonymous.output, /^openpnc: bus unavailable: .*Authorization Violation/);
      const status = await openpnc('deploy', 'netns', 'status', '--topology', EXAMPLE);
      assert.is(status.code, 0, status.output);
      assert.match(status.output, new RegExp(`^contracts +nats up  meta leader ${statuses[0].metaLeader} \\(3 nodes\\)`, 'm'));
      assert.match(status.output, /client 'openpnc cpo \(ccp cpo\)' TLS 1\.[23], queues .*cpo/);
      // The participants really run inside the host namespaces, on the rendered command line.
      const contractsLog = readFileSync(join(workDir, 'contracts', 'openpnc.log'), 'utf8');
      assert.match(contractsLog, /"event":"host.ready".*"participants":\["ccp","cpo"\]/);

      // Lose a node that participant hosts are connected to (the work stream's leader when it is one):
      // SIGKILL its nats-server inside its namespace.
      const carrying = statuses.filter((s) => s.clients.some((client) => client.name.startsWith('openpnc ')));
      const victim = (carrying.find((s) => s.host === workLeader) ?? carrying[0]).host;
      const orphaned = statuses.find((s) => s.host === victim)!.clients.map((client) => client.name).filter((name) => name.startsWith('openpnc '));
      const natsPid = namespacePids(hostNamespace(victim)).find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nats-server');
      assert.ok(natsPid, `no nats-server in ${hostNamespace(victim)}`);
      process.kill(natsPid!, 'SIGKILL');
      const survivors = topology.hosts.filter((host) => host.name !== victim);
      // Failover: the surviving nodes agree on a work stream leader among themselves.
      const after = await until('a PNC_WORK leader among the survivors', async () => {
        const seen: NodeStatus[] = await Promise.all(survivors.map((host) => nodeStatus(topology, host.name)));
        const leaders = seen.map((s) => s.streamLeaders.PNC_WORK);
        return seen.every((s) => s.up && s.metaLeader) && leaders.every((leader) => leader && leader !== victim && leader === leaders[0]) ? seen : undefined;
      });
      assert.is((await nodeStatus(topology, victim)).up, false);
      const story = await openpnc('deploy', 'netns', 'story', '--topology', EXAMPLE, '--work', workDir);
      console.log(`  story after losing ${victim}'s node (${victim === workLeader ? 'the' : 'not the'} work stream leader; leader now ${after[0].streamLeaders.PNC_WORK}): ${story.ms} ms`);
      assert.is(story.code, 0, story.output);
      assert.match(story.output, /^✓ verified: /m);
      // The participant hosts that were connected to the lost node carried on over another one.
      console.log(`  participant hosts that were on the lost node: ${orphaned.join('; ')}`);
      assert.ok(orphaned.length > 0);
      for (const name of orphaned) {
        const participants = /\(([^)]*)\)/.exec(name)![1].split(' ').sort().join(' ');
        const host = topology.hosts.find((h) => [...h.participants].sort().join(' ') === participants)!;
        assert.match(readFileSync(join(workDir, host.name, 'openpnc.log'), 'utf8'), /"event":"bus.nats_reconnect"/, `${host.name} did not reconnect`);
      }
    } finally {
      await netnsDown();
    }
    assert.equal(listNamespaces(), []);
    assert.equal(await netnsDown(), [], 'down is idempotent');
    rmSync(workDir, { recursive: true, force: true });
  });

  test.run();
}
