// `openpnc emaid …`: check characters and validation of contract identifiers.
import { CliError, parseFlags, type Command } from './command.ts';
import { dinEmaidToIso, emaidCheckDigit, validateEmaid } from '../../protocols/identifiers/index.ts';

const usage = `usage: openpnc emaid <subcommand>

subcommands:
  check-digit <14 chars>   print the ISO 15118 check character (hyphens and case ignored)
  validate <emaid>         print the normalized EMAID (upper case, no hyphens), or say what is wrong
                           and exit 1; a 15th character is checked as the check character
  from-din <din emaid>     convert a DIN SPEC 91286 EMAID (CC*PPP*IIIIII*D) to the ISO form

options:
  --require-check-digit    (validate) reject an EMAID without its check character
  -h, --help               show this help`;

function single(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new CliError(`expected one ${what} (see openpnc emaid --help)`);
  return positionals[0];
}

export const emaidCommand: Command = {
  summary: 'EMAID check characters, validation and DIN conversion',
  usage,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { 'require-check-digit': { type: 'boolean' } });
    const [subcommand, ...rest] = positionals;
    switch (subcommand) {
      case 'check-digit':
        console.log(emaidCheckDigit(single(rest, '14-character EMAID')));
        return 0;
      case 'validate':
        console.log(validateEmaid(single(rest, 'EMAID'), { requireCheckDigit: values['require-check-digit'] }).normalized);
        return 0;
      case 'from-din':
        console.log(dinEmaidToIso(single(rest, 'DIN SPEC 91286 EMAID')).normalized);
        return 0;
      case undefined:
        throw new CliError('missing subcommand (see openpnc emaid --help)');
      default:
        throw new CliError(`unknown subcommand '${subcommand}' (see openpnc emaid --help)`);
    }
  },
};
