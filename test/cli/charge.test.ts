// `openpnc secc|ev|vehicle`: bad invocations get one-line errors naming the problem, and the vehicle
// directory keeps the provisioning key to itself (record without it, key file 0600) [S4]. The real
// runs over a veth pair against a back office on NATS are in test/transport/charge-netns.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, type Command } from '../../actors/cli/command.ts';
import { evCommand, seccCommand } from '../../actors/cli/charge.ts';
import { vehicleCommand } from '../../actors/cli/vehicle.ts';
import { makeCsr } from '../../actors/participants/authority.ts';
import { PROVISIONING_KEY_FILE, readVehicleDir, VEHICLE_RECORD_FILE, writeVehicleDir } from '../../actors/participants/ev/vehicle-file.ts';
import { PncError } from '../../protocols/errors.ts';
import { exportPkcs8 } from '../../protocols/pki/index.ts';
import { createTestPki } from '../../protocols/pki/test-pki.ts';
import { tempDir } from '../harness/temp-dir.ts';

const dir = tempDir('cli-charge');

const cases: [Command, string[], RegExp, number][] = [
  [seccCommand, [], /--if IF is required/, 2],
  [seccCommand, ['--if', 'lo'], /name the CPO backend: --nats URL .* or --set ocpp\.url=URL/, 2],
  [seccCommand, ['--if', 'lo', '--creds', dir, '--set', 'name=x'], /name the CPO backend/, 2],
  [seccCommand, ['--if', 'lo', '--set', 'ocpp.url=ws://127.0.0.1:1/x', '--creds', dir], /--creds DIR needs --nats URL/, 2],
  [seccCommand, ['--if', 'lo', '--nats', 'nats://127.0.0.1:1', '--vehicle-out', 'v.json'], /Unknown option '--vehicle-out'/, 2],
  [seccCommand, ['--if', 'lo', '--nats', 'nats://127.0.0.1:1', '--sessions', '0'], /--sessions must be a whole number from 1/, 2],
  [evCommand, ['--if', 'lo'], /--vehicle VDIR is required/, 2],
  [evCommand, ['--if', 'lo', '--vehicle', dir], /VehicleFileInvalid: cannot read .*vehicle\.json: ENOENT/, 1],
  [vehicleCommand, [], /expected 'produce' or 'contract'/, 2],
  [vehicleCommand, ['produce', '--out', dir], /--nats URL\[,URL…\] is required/, 2],
  [vehicleCommand, ['produce', '--nats', 'nats://127.0.0.1:1'], /--out VDIR is required/, 2],
  [vehicleCommand, ['contract', '--nats', 'nats://127.0.0.1:1'], /--vehicle VDIR is required/, 2],
];

test('bad invocations: a CliError naming the problem, exit 2 for usage, 1 for what is missing', async () => {
  for (const [command, args, pattern, exitCode] of cases) {
    try {
      await command.run(args);
      assert.unreachable(`${args.join(' ')} must fail`);
    } catch (error) {
      assert.instance(error, CliError, `${args.join(' ')}: ${error}`);
      assert.match((error as CliError).message, pattern);
      assert.is((error as CliError).exitCode, exitCode, args.join(' '));
    }
  }
});

test('[S4] the vehicle directory: the record holds no key, the key file is 0600 and the only place the key is; it reads back', async () => {
  const pki = await createTestPki();
  const { keys } = await makeCsr({ commonName: 'vehicle', organization: 'test' });
  const record = {
    pcid: pki.provisioning[0].identifier!,
    provisioningChain: { certificate: Buffer.from(pki.provisioning[0].certificate.rawData).toString('base64'), subCertificates: [] },
    v2gRoots: [Buffer.from(pki.trustAnchors.v2g[0].rawData).toString('base64')],
    producedAt: new Date(0).toISOString(),
  };
  const vdir = join(dir, 'car');
  await writeVehicleDir(vdir, { ...record, provisioningKey: keys.privateKey });
  const pkcs8 = Buffer.from(await exportPkcs8(keys.privateKey)).toString('base64');
  assert.equal(JSON.parse(readFileSync(join(vdir, VEHICLE_RECORD_FILE), 'utf8')), record);
  assert.is(statSync(join(vdir, PROVISIONING_KEY_FILE)).mode & 0o777, 0o600);
  assert.is(statSync(vdir).mode & 0o777, 0o700);
  assert.ok(readFileSync(join(vdir, PROVISIONING_KEY_FILE), 'utf8').replace(/\s/g, '').includes(pkcs8));
  const back = await readVehicleDir(vdir);
  assert.is(Buffer.from(await exportPkcs8(back.provisioningKey)).toString('base64'), pkcs8);
  assert.is(back.pcid, record.pcid);

  writeFileSync(join(vdir, PROVISIONING_KEY_FILE), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
  const refused = await readVehicleDir(vdir).then(() => undefined, (error: unknown) => error);
  assert.ok(PncError.is(refused, 'VehicleFileInvalid'), String(refused));
  writeFileSync(join(vdir, VEHICLE_RECORD_FILE), JSON.stringify({ ...record, pcid: 'nope' }));
  assert.ok(PncError.is(await readVehicleDir(vdir).then(() => undefined, (error: unknown) => error), 'VehicleFileInvalid'));
});

test.run();
