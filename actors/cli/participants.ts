/** `openpnc participants`: the registered participants, one per line, in start order. */
import { loadParticipants } from '../participants/index.ts';
import { CliError, parseFlags, type Command } from './command.ts';

export const participantsCommand: Command = {
  summary: 'list the participants `openpnc run` can host',
  usage: `usage: openpnc participants [--json]

Lists every registered participant with its summary, in start order.

options:
  --json       one JSON array of {name, summary}
  -h, --help   show this help`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { json: { type: 'boolean' } });
    if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}' (see openpnc participants --help)`);
    const participants = await loadParticipants();
    if (values.json) console.log(JSON.stringify(participants.map(({ name, summary }) => ({ name, summary }))));
    else for (const { name, summary } of participants) console.log(`${name.padEnd(10)} ${summary}`);
    return 0;
  },
};
