// `openpnc vehicle produce` and `openpnc vehicle contract`: a vehicle for `openpnc ev --if` made the
// way the field makes it, against a back office on NATS. The vehicle makes its own key pair and has
// the OEM sign its CSR [S4]; the key goes into the vehicle's directory and nowhere else.
import { connectAs } from '../host/credentials.ts';
import { createLogger } from '../host/log.ts';
import { PncError } from '../../protocols/errors.ts';
import { readVehicleDir, writeVehicleDir, PROVISIONING_KEY_FILE, VEHICLE_RECORD_FILE } from '../participants/ev/vehicle-file.ts';
import { concludeContract } from '../story/index.ts';
import { produceVehicle } from '../story/vehicle.ts';
import { whenServed } from '../participants/authority.ts';
import { CliError, parseFlags, wantsHelp, type Command } from './command.ts';

const usage = `usage: openpnc vehicle produce --nats URL[,URL…] [--creds DIR] --out VDIR [--vehicle-id ID]
       openpnc vehicle contract --nats URL[,URL…] [--creds DIR] --vehicle VDIR [--customer ID]

produce   the vehicle makes its provisioning key pair and sends the OEM a CSR (oem.vehicle.produce,
          as credential 'ev'); the OEM signs it, names the vehicle by its PCID and uploads the chain
          to the PCP. Writes VDIR/${VEHICLE_RECORD_FILE} (PCID, provisioning chain, V2G roots) and
          VDIR/${PROVISIONING_KEY_FILE} (mode 0600), the key no other process ever sees.
contract  the customer (credential 'admin') concludes a contract for the vehicle at the MO and waits
          until the CPS signed it into the CCP: the EV installs it at a charger (CertificateInstallation).

  --nats URL[,URL…]  the back office's NATS (openpnc run … --nats)
  --creds DIR        credentials from 'openpnc deploy creds' (ev.nk for produce, admin.nk for contract)
  --out VDIR         produce: the vehicle's directory (created 0700)
  --vehicle-id ID    produce: the OEM's 14 alphanumerics (default: made up)
  --vehicle VDIR     contract: a directory written by produce (only its record is read)
  --customer ID      contract: the customer id at the MO (default: lab-customer)
  -h, --help         this text`;

const say = (line: string) => process.stdout.write(`${line}\n`);

export const vehicleCommand: Command = {
  summary: 'a vehicle for openpnc ev: its own key pair and the OEM-signed CSR (produce), its contract at the MO (contract)',
  usage,
  async run(argv) {
    if (wantsHelp(argv)) return say(usage), 0;
    const { values, positionals } = parseFlags(argv, {
      nats: { type: 'string' }, creds: { type: 'string' }, out: { type: 'string' }, 'vehicle-id': { type: 'string' }, vehicle: { type: 'string' }, customer: { type: 'string' },
    });
    const [mode, ...extra] = positionals;
    if ((mode !== 'produce' && mode !== 'contract') || extra.length) throw new CliError(`expected 'produce' or 'contract'; see 'openpnc vehicle --help'`);
    const servers = (values.nats ?? '').split(',').map((url) => url.trim()).filter(Boolean);
    if (servers.length === 0) throw new CliError('--nats URL[,URL…] is required: the OEM and the MO run there');
    if (mode === 'produce' && !values.out) throw new CliError('--out VDIR is required');
    if (mode === 'contract' && !values.vehicle) throw new CliError('--vehicle VDIR is required');
    const name = mode === 'produce' ? 'ev' : 'admin';
    const bus = await connectAs({ servers, name, connectionName: `openpnc vehicle ${mode}`, log: createLogger({ write: () => undefined }), ...(values.creds ? { credsDir: values.creds } : {}) }).catch((error: unknown) => {
      if (PncError.is(error, 'CredentialInvalid')) throw new CliError((error as Error).message, 1);
      throw new CliError(`bus unavailable: ${(error as Error).message.split('\n')[0]}`, 1);
    });
    try {
      if (mode === 'produce') {
        const vehicle = await whenServed(() => produceVehicle(bus, values['vehicle-id']));
        await writeVehicleDir(values.out!, vehicle);
        say(`vehicle PCID ${vehicle.pcid} produced: ${values.out}/${VEHICLE_RECORD_FILE}, key in ${values.out}/${PROVISIONING_KEY_FILE}`);
      } else {
        const { pcid } = await readVehicleDir(values.vehicle!);
        const contract = await concludeContract(bus, bus, pcid, values.customer ?? 'lab-customer');
        say(`contract ${contract.contractId} for PCID ${pcid}: EMAID ${contract.emaid}, ${contract.status} (signed into the CCP)`);
      }
      return 0;
    } catch (error) {
      if (error instanceof PncError) throw new CliError(`vehicle ${mode} failed: ${error.code}: ${error.message}`, 1);
      throw error;
    } finally {
      await bus.close();
    }
  },
};
