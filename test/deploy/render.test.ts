// Topology validation (typed errors naming the bad field), rendered nats-server configs accepted by the
// real server (`nats-server -t`) and forming a JetStream cluster, and `openpnc deploy` as a user runs it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, natsServerAvailable } from '../harness/nats.ts';
import { natsConfig, renderTopology } from '../../deploy/render.ts';
import { writeClusterCertificates } from '../../deploy/tls.ts';
import { parseTopology, readTopology, TopologyError, type Topology } from '../../deploy/topology.ts';
import { OPENPNC_BIN } from '../helpers/cli.ts';
import { participantEnvironment } from '../../actors/host/runtime.ts';

const EXAMPLE = new URL('../../deploy/topologies/three-hosts.json', import.meta.url).pathname;
const dirs: string[] = [];
process.on('exit', () => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'openpnc-deploy-'));
  dirs.push(dir);
  return dir;
}

function example(): Record<string, any> {
  return JSON.parse(readFileSync(EXAMPLE, 'utf8'));
}

function rejects(value: unknown, field: string, message: RegExp): void {
  try {
    parseTopology(value);
  } catch (error) {
    assert.instance(error, TopologyError);
    assert.is((error as TopologyError).code, 'TopologyInvalid');
    assert.is((error as TopologyError).field, field);
    assert.match((error as TopologyError).message, message);
    return;
  }
  assert.unreachable(`accepted a topology with a bad ${field}`);
}

test('the example topology: three hosts, every participant placed, the CPO backend on two', () => {
  const topology = readTopology(EXAMPLE);
  assert.is(topology.hosts.length, 3);
  const placed = topology.hosts.flatMap((host) => host.participants);
  for (const name of ['v2g-root', 'oem', 'rcp', 'pcp', 'mo', 'cps', 'ccp', 'cpo']) assert.ok(placed.includes(name), name);
  assert.is(placed.filter((name) => name === 'cpo').length, 2);
  assert.is(topology.hosts[0].nats.clientPort, 4222);
});

test('bad topologies are refused with the field that is wrong', () => {
  const bad = (edit: (t: Record<string, any>) => void) => {
    const t = example();
    edit(t);
    return t;
  };
  rejects(bad((t) => { t.hosts[1].participants[2] = 'cpx'; }), 'hosts[1].participants[2]', /cpo|v2g-root/);
  rejects(bad((t) => { t.hosts[2].nats.storeDir = 'relative/js'; }), 'hosts[2].nats.storeDir', /absolute path/);
  rejects(bad((t) => { t.hosts[0].nats.clientPort = 70_000; }), 'hosts[0].nats.clientPort', /./);
  rejects(bad((t) => { t.hosts[1].name = 'Not A Name'; }), 'hosts[1].name', /a-z/);
  rejects(bad((t) => { t.hosts[2].name = 'pki'; }), 'hosts[2].name', /already the name of hosts\[0\]/);
  rejects(bad((t) => { t.hosts[2].address = t.hosts[0].address; }), 'hosts[2].address', /cluster address/);
  rejects(bad((t) => { t.hosts[1].nats.monitorPort = 4222; }), 'hosts[1].nats', /ports must differ/);
  rejects(bad((t) => { t.hosts[1].participants.push('oem'); }), 'hosts[1].participants[4]', /listed twice/);
  rejects(bad((t) => { t.hosts[2].participants = ['cpo']; }), 'hosts', /no host runs ccp/);
  rejects(bad((t) => { t.hosts[0].colour = 'blue'; }), 'hosts[0]', /colour/);
  rejects(bad((t) => { t.replicas = 5; }), 'replicas', /at least as many hosts/);
  rejects(bad((t) => { t.replicas = 1; t.hosts[0].opcp = { port: 7080 }; t.hosts[0].participants = ['v2g-root', 'rcp']; t.hosts[2].participants.push('pcp'); }), 'hosts[0].opcp', /list pcp, ccp/);
  // Two CCPs on separate embedded stores would each hold half of the contracts.
  rejects(bad((t) => { t.hosts[0].participants.push('ccp'); }), 'hosts[2].participants[0]', /ccp keeps shared records: running it on pki and contracts needs the shared store/);
  const shared = parseTopology(bad((t) => { t.hosts[0].participants.push('ccp'); t.mongodb = 'mongodb://pnc:p%40ss$1@db.example.net:27017/openpnc'; }));
  // …and every unit then uses it, its %-escapes and $ kept literal for systemd.
  const unit = renderTopology(shared).find((file) => file.path === 'pki/openpnc.service')!.text;
  assert.match(unit, / --mongo mongodb:\/\/pnc:p%%40ss\$\$1@db\.example\.net:27017\/openpnc --creds \/etc\/openpnc\/creds$/m);
  assert.not.match(unit, /--data/);
  // A partner's own system may stand in for a participant.
  parseTopology(bad((t) => { t.hosts[1].participants = ['oem', 'mo', 'cps']; t.hosts[2].participants = ['ccp']; t.external = ['cpo']; }));
  rejects(bad((t) => { t.external = ['ccp']; }), 'hosts[2].participants[0]', /also listed as external/);
  rejects(bad((t) => { t.hosts[1].address = '192.168.7.2'; }), 'hosts[1].address', /with "tls" every host needs a DNS name/);
  parseTopology(bad((t) => { delete t.tls; t.hosts[1].address = '192.168.7.2'; }));
});

test('rendered units run the placed participants against every node, JetStream replicated 3 times', () => {
  const topology = readTopology(EXAMPLE);
  const files = new Map(renderTopology(topology).map((file) => [file.path, file.text]));
  assert.equal([...files.keys()].sort(), [
    'contracts/nats-server.conf', 'contracts/openpnc-nats.service', 'contracts/openpnc.service',
    'partners/nats-server.conf', 'partners/openpnc-nats.service', 'partners/openpnc.service',
    'pki/nats-server.conf', 'pki/openpnc-nats.service', 'pki/openpnc.service',
  ]);
  const unit = files.get('contracts/openpnc.service')!;
  assert.match(unit, /^Environment=NODE_EXTRA_CA_CERTS=\/etc\/openpnc\/tls\/ca\.pem$/m);
  // Started as a participant must be (actors/host/runtime.ts, issue 9): young generation capped, malloc thresholds fixed.
  for (const [name, value] of Object.entries(participantEnvironment())) assert.match(unit, new RegExp(`^Environment=${name}=${value}$`, 'm'));
  assert.match(unit, /^ExecStart=\/usr\/local\/bin\/openpnc run ccp cpo --nats nats:\/\/pnc-contracts\.example\.net:4222,nats:\/\/pnc-pki\.example\.net:4222,nats:\/\/pnc-partners\.example\.net:4222 --replicas 3 --data \/var\/lib\/openpnc\/data --creds \/etc\/openpnc\/creds$/m);
  assert.match(unit, /^After=network-online.target openpnc-nats.service$/m);
  const nats = files.get('pki/nats-server.conf')!;
  assert.match(nats, /"nats-route:\/\/pnc-partners\.example\.net:6222"/);
  assert.match(nats, /"nats-route:\/\/pnc-contracts\.example\.net:6222"/);
  assert.not.match(nats, /pnc-pki\.example\.net/);
  // Clients must use TLS; cluster routes verify each other's certificate.
  assert.match(nats, /^tls \{\n  cert_file: "\/etc\/openpnc\/tls\/pki\.pem"\n  key_file: "\/etc\/openpnc\/tls\/pki\.key"\n  ca_file: "\/etc\/openpnc\/tls\/ca\.pem"\n  timeout: 2\n\}$/m);
  assert.match(nats, /^  tls \{\n    cert_file: "\/etc\/openpnc\/tls\/pki\.pem"\n[^}]*    verify: true\n/m);
});

const MONGODB_EXAMPLE = new URL('../../deploy/topologies/three-hosts-mongodb.json', import.meta.url).pathname;

test('a MongoDB replica set: a mongod config and unit per member, rs-initiate.js with majority defaults, one connection string for every unit', () => {
  const topology = readTopology(MONGODB_EXAMPLE);
  const files = new Map(renderTopology(topology).map((file) => [file.path, file.text]));
  const uri = 'mongodb://pnc-pki.example.net:27017,pnc-partners.example.net:27017,pnc-contracts.example.net:27017/openpnc?replicaSet=openpnc&w=majority&journal=true&readConcernLevel=majority&retryWrites=true';
  assert.is(files.get('mongodb/connection-string'), `${uri}\n`);
  for (const host of ['pki', 'partners', 'contracts']) {
    const address = `pnc-${host}.example.net`;
    assert.equal(files.get(`${host}/mongod.conf`)!.split('\n').filter((line) => !line.startsWith('#')), [
      'storage:', '  dbPath: "/var/lib/openpnc/mongodb"', 'net:', '  port: 27017', `  bindIp: "127.0.0.1,${address}"`, 'replication:', '  replSetName: "openpnc"', '',
    ]);
    assert.match(files.get(`${host}/openpnc-mongod.service`)!, /^ExecStart=\/usr\/bin\/mongod --config \/etc\/openpnc\/mongod\.conf$/m);
    // Every participant process, whichever host, uses the whole replica set with majority writes and reads.
    assert.ok(files.get(`${host}/openpnc.service`)!.includes(` --mongo ${uri} --creds /etc/openpnc/creds`), host);
    assert.not.match(files.get(`${host}/openpnc.service`)!, /--data/);
  }
  const script = files.get('mongodb/rs-initiate.js')!;
  assert.ok(script.includes('{ _id: 0, host: "pnc-pki.example.net:27017", priority: 2 },'));
  assert.ok(script.includes('{ _id: 2, host: "pnc-contracts.example.net:27017", priority: 1 },'));
  assert.ok(script.includes("defaultWriteConcern: { w: 'majority', j: true }, defaultReadConcern: { level: 'majority' }"));
  assert.not.throws(() => new Function(script), 'rs-initiate.js is JavaScript mongosh can load');
  // Without a replica set nothing of MongoDB is rendered.
  assert.not.ok(renderTopology(readTopology(EXAMPLE)).some((file) => /mongo/.test(file.path)));
});

test('bad replica sets are refused with the field that is wrong', () => {
  const bad = (edit: (t: Record<string, any>) => void) => {
    const t = JSON.parse(readFileSync(MONGODB_EXAMPLE, 'utf8'));
    edit(t);
    return t;
  };
  rejects(bad((t) => { t.mongodb.members = ['pki', 'partners']; }), 'mongodb.members', /at least 3 members/);
  rejects(bad((t) => { t.mongodb.members.push('pki2'); }), 'mongodb.members', /odd number/);
  rejects(bad((t) => { t.mongodb.members[1] = 'nowhere'; }), 'mongodb.members[1]', /no host is named 'nowhere'/);
  rejects(bad((t) => { t.mongodb.members[2] = 'pki'; }), 'mongodb.members[2]', /listed twice/);
  rejects(bad((t) => { t.mongodb.port = 6222; }), 'mongodb.port', /already a port of pki/);
  rejects(bad((t) => { t.mongodb.dbPath = 'data'; }), 'mongodb.dbPath', /absolute path/);
  rejects(bad((t) => { t.mongodb.writeConcern = 1; }), 'mongodb', /writeConcern/);
});

test('an OPCP gateway host gets its own unit that hosts its pools; the other participants stay in openpnc run', () => {
  const t = example();
  t.hosts[0].opcp = { port: 7080 };
  t.hosts[0].participants = ['v2g-root', 'rcp', 'pcp', 'ccp'];
  t.hosts[2].participants = ['cpo'];
  rejects(t, 'hosts[0].opcp', /no --replicas yet/);
  t.replicas = 1;
  const files = new Map(renderTopology(parseTopology(t)).map((file) => [file.path, file.text]));
  assert.match(files.get('pki/openpnc.service')!, /^ExecStart=\/usr\/local\/bin\/openpnc run v2g-root --nats /m);
  assert.match(files.get('pki/openpnc-opcp.service')!, /^ExecStart=\/usr\/local\/bin\/openpnc opcp serve --nats nats:\/\/pnc-pki\.example\.net:4222 --host 0\.0\.0\.0 --port 7080 --data \/var\/lib\/openpnc\/data\/opcp --creds \/etc\/openpnc\/creds$/m);
  assert.match(files.get('pki/openpnc.service')!, / --replicas 1 /);
});

if (natsServerAvailable('deploy render suite')) {
  test('deploy certs: a cluster CA and per-host certificates OpenSSL verifies; nats-server accepts every rendered config (nats-server -t)', () => {
    const out = tempDir();
    const topologyFile = join(out, 'topology.json');
    const t = example();
    t.tls = { dir: join(out, 'tls') };
    writeFileSync(topologyFile, JSON.stringify(t));
    const certs = spawnSync(process.execPath, [OPENPNC_BIN, 'deploy', 'certs', '--topology', topologyFile, '--out', t.tls.dir], { encoding: 'utf8' });
    assert.is(certs.status, 0, certs.stderr);
    for (const host of t.hosts) {
      const verify = spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', join(t.tls.dir, 'ca.pem'), join(t.tls.dir, `${host.name}.pem`)], { encoding: 'utf8' });
      assert.is(verify.status, 0, verify.stderr);
      assert.is(spawnSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', join(t.tls.dir, 'ca.pem'), join(t.tls.dir, `${host.name}.pem`)]).status, 0);
      const names = spawnSync('openssl', ['x509', '-in', join(t.tls.dir, `${host.name}.pem`), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
      assert.match(names.stdout, new RegExp(`DNS:${host.address.replace(/\./g, '\\.')}`));
    }
    // Another host's certificate does not verify against a different cluster's CA.
    const other = tempDir();
    assert.is(spawnSync(process.execPath, [OPENPNC_BIN, 'deploy', 'certs', '--topology', topologyFile, '--out', other]).status, 0);
    assert.is.not(spawnSync('openssl', ['verify', '-CAfile', join(other, 'ca.pem'), join(t.tls.dir, 'pki.pem')]).status, 0);
    // A topology with credentials renders only with them: every node's config then lists each key and its permissions.
    const withoutCreds = spawnSync(process.execPath, [OPENPNC_BIN, 'deploy', 'render', '--topology', topologyFile, '--out', out], { encoding: 'utf8' });
    assert.is(withoutCreds.status, 2);
    assert.match(withoutCreds.stderr, /give --creds DIR/);
    const creds = join(out, 'creds');
    const issued = spawnSync(process.execPath, [OPENPNC_BIN, 'deploy', 'creds', '--out', creds, '--set', 'emaidPrefix=DEABC'], { encoding: 'utf8' });
    assert.is(issued.status, 0, issued.stderr);
    assert.match(issued.stdout, /mo\.nk\n/);
    assert.is(statSync(join(creds, 'mo.nk')).mode & 0o777, 0o600);
    const result = spawnSync(process.execPath, [OPENPNC_BIN, 'deploy', 'render', '--topology', topologyFile, '--out', out, '--creds', creds], { encoding: 'utf8' });
    assert.is(result.status, 0, result.stderr);
    assert.match(readFileSync(join(out, 'pki', 'nats-server.conf'), 'utf8'), /# mo \(mo DEABC\)\n +\{ nkey: "U[A-Z2-7]{55}", permissions: \{\n +publish: \{ allow: \["rcp\.roots\.list", "pcp\.chain\.get", "ccp\.contract\.delete", /);
    // Rotating one key keeps the others.
    const before = readFileSync(join(creds, 'cps.nk'), 'utf8');
    const moBefore = readFileSync(join(creds, 'mo.nk'), 'utf8');
    assert.is(spawnSync(process.execPath, [OPENPNC_BIN, 'deploy', 'creds', '--out', creds, '--rotate', 'mo', '--set', 'emaidPrefix=DEABC']).status, 0);
    assert.is(readFileSync(join(creds, 'cps.nk'), 'utf8'), before);
    assert.is.not(readFileSync(join(creds, 'mo.nk'), 'utf8'), moBefore);
    const confs = result.stdout.trim().split('\n').filter((path) => path.endsWith('nats-server.conf'));
    assert.is(confs.length, 3);
    for (const conf of confs) {
      const check = spawnSync('nats-server', ['-t', '-c', conf], { encoding: 'utf8' });
      assert.is(check.status, 0, `${conf}: ${check.stderr}`);
      assert.match(check.stderr + check.stdout, /is valid/);
    }
    // And a config that is not valid is refused by the same check, so the assertion above can fail.
    writeFileSync(join(out, 'broken.conf'), readFileSync(confs[0], 'utf8').replace('cluster {', 'cluster {{'));
    assert.is.not(spawnSync('nats-server', ['-t', '-c', join(out, 'broken.conf')]).status, 0);
  });

  test('rendered configs on loopback form a 3-node JetStream cluster over mutually verified TLS routes', async () => {
    const dir = tempDir();
    const t = example();
    t.tls = { dir: join(dir, 'tls') };
    for (const host of t.hosts) {
      host.address = 'localhost';
      host.nats = { clientPort: await freePort(), clusterPort: await freePort(), monitorPort: await freePort(), storeDir: join(dir, host.name) };
    }
    const topology: Topology = parseTopology(t);
    await writeClusterCertificates(topology, t.tls.dir);
    const children = topology.hosts.map((host) => {
      const file = join(dir, `${host.name}.conf`);
      writeFileSync(file, natsConfig(topology, host));
      return spawn('nats-server', ['-c', file], { stdio: 'ignore' });
    });
    try {
      const deadline = Date.now() + 30_000;
      let leaders: Array<string | undefined> = [];
      while (Date.now() < deadline) {
        leaders = await Promise.all(topology.hosts.map(async (host) => {
          try {
            const jsz = await (await fetch(`http://127.0.0.1:${host.nats.monitorPort}/jsz`)).json() as { meta_cluster?: { leader?: string; cluster_size?: number } };
            return jsz.meta_cluster?.cluster_size === 3 ? jsz.meta_cluster.leader : undefined;
          } catch {
            return undefined;
          }
        }));
        if (leaders.every((leader) => leader && leader === leaders[0])) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.ok(leaders[0] && leaders.every((leader) => leader === leaders[0]), `meta leaders seen: ${leaders.join(', ')}`);
      assert.ok(topology.hosts.some((host) => host.name === leaders[0]));
      const routez = await (await fetch(`http://127.0.0.1:${topology.hosts[0].nats.monitorPort}/routez`)).json() as { num_routes: number };
      assert.ok(routez.num_routes >= 2, `routes: ${routez.num_routes}`);
    } finally {
      for (const child of children) child.kill('SIGKILL');
    }
  });
}

test('openpnc deploy: --help, check, and one-line errors', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [OPENPNC_BIN, 'deploy', ...args], { encoding: 'utf8', timeout: 30_000 });
  const help = run('--help');
  assert.is(help.status, 0);
  assert.match(help.stdout, /^usage: openpnc deploy check/);
  const check = run('check', '--topology', EXAMPLE);
  assert.is(check.status, 0, check.stderr);
  assert.match(check.stdout, /topology three-hosts: 3 hosts, NATS cluster openpnc, JetStream replicas 3/);
  assert.match(check.stdout, /contracts\s+pnc-contracts\.example\.net\s+ccp, cpo/);
  const dir = tempDir();
  const badFile = join(dir, 'bad.json');
  const bad = example();
  bad.hosts[1].participants[0] = 'oemx';
  writeFileSync(badFile, JSON.stringify(bad));
  writeFileSync(join(dir, 'broken.json'), '{"name":');
  for (const [args, pattern] of [
    [['check', '--topology', badFile], /^openpnc: .*bad\.json: hosts\[1\]\.participants\[0\]: /],
    [['check', '--topology', join(dir, 'broken.json')], /^openpnc: .*broken\.json: not JSON/],
    [['check', '--topology', join(dir, 'missing.json')], /^openpnc: .*missing\.json: cannot read the topology: ENOENT/],
    [['render', '--topology', EXAMPLE], /^openpnc: --out DIR is required$/],
    [['netns', 'sideways'], /^openpnc: unknown netns action 'sideways'/],
    [['launch'], /^openpnc: unknown deploy subcommand 'launch'/],
  ] as const) {
    const result = run(...args);
    assert.ok(result.status !== 0, args.join(' '));
    const lines = result.stderr.trim().split('\n');
    assert.is(lines.length, 1, result.stderr);
    assert.match(lines[0], pattern);
  }
});

test('openpnc story: --help, --nats required, an unreachable cluster is one line', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [OPENPNC_BIN, 'story', ...args], { encoding: 'utf8', timeout: 30_000 });
  const help = run('--help');
  assert.is(help.status, 0);
  assert.match(help.stdout, /^usage: openpnc story --nats URL/);
  for (const [args, pattern] of [
    [[], /^openpnc: --nats URL\[,URL…\] is required/],
    [['--nats', 'nats://127.0.0.1:1'], /^openpnc: bus unavailable: /],
    [['--nats', 'nats://127.0.0.1:1', 'extra'], /^openpnc: unexpected argument 'extra'/],
  ] as const) {
    const result = run(...args);
    assert.ok(result.status !== 0, args.join(' '));
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, pattern);
  }
});

test('openpnc deploy netns without root: one line naming what is missing', () => {
  if (process.getuid?.() !== 0 || spawnSync('runuser', ['--help']).error) return; // needs root to become nobody
  const result = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, OPENPNC_BIN, 'deploy', 'netns', 'down'], { encoding: 'utf8', timeout: 30_000 });
  assert.is(result.status, 1, result.stderr);
  assert.is(result.stderr.trim(), 'openpnc: network namespaces are unavailable: needs root (run as root or with sudo)');
});

test.run();
