// `openpnc pcid …`: build and check provisioning certificate IDs (the OEM provisioning certificate's CN).
import { CliError, parseFlags, type Command } from './command.ts';
import { makePcid, parsePcid } from '../../protocols/identifiers/index.ts';

const usage = `usage: openpnc pcid <subcommand>

subcommands:
  validate <pcid>                        print the PCID and its parts (WMI, vehicle ID, check character),
                                         or say what is wrong and exit 1
  make <wmi> <vehicle id> [check char]   print the PCID built from a 3-character WMI and a
                                         14-character vehicle ID

options:
  -h, --help   show this help`;

export const pcidCommand: Command = {
  summary: 'PCID validation and construction',
  usage,
  async run(argv) {
    const { positionals } = parseFlags(argv, {});
    const [subcommand, ...rest] = positionals;
    switch (subcommand) {
      case 'validate': {
        if (rest.length !== 1) throw new CliError('expected one PCID (see openpnc pcid --help)');
        const pcid = parsePcid(rest[0]);
        console.log(`${pcid.value}\twmi=${pcid.wmi}\tvehicleId=${pcid.vehicleId}${pcid.checkCharacter ? `\tcheck=${pcid.checkCharacter}` : ''}`);
        return 0;
      }
      case 'make':
        if (rest.length < 2 || rest.length > 3) throw new CliError('expected <wmi> <vehicle id> [check char] (see openpnc pcid --help)');
        console.log(makePcid(rest[0], rest[1], rest[2]));
        return 0;
      case undefined:
        throw new CliError('missing subcommand (see openpnc pcid --help)');
      default:
        throw new CliError(`unknown subcommand '${subcommand}' (see openpnc pcid --help)`);
    }
  },
};
