/**
 * `openpnc story --nats URL[,URL…]`: plays processes 1–6 (playStory) against participants that
 * already run elsewhere on a NATS cluster (`openpnc run …` on one or many hosts), printing the story
 * actors' timeline and the vehicle's verification line. It starts no participant of its own.
 */
import { connectAs } from '../host/credentials.ts';
import { CliError, parseFlags, type Command } from '../cli/command.ts';
import { PncError } from '../../protocols/errors.ts';
import { playStory } from './index.ts';
import { formatEntry, formatFailure, Timeline } from './timeline.ts';

const usage = `usage: openpnc story --nats URL[,URL…] [--creds DIR]

Plays the six VDE processes against participants already running on a NATS cluster (openpnc run on
one or many hosts): roots to the RCP, vehicle production, contract conclusion and signing, and the
installation through the CPO backend. Prints one line per request the story sends and ends with the
vehicle's verification line; exits 1 when a step fails.

options:
  --nats URL[,URL…]  the cluster's client URLs (any reachable node will do)
  --creds DIR        act as the operator: DIR/admin.nk and DIR/roster.json from 'openpnc deploy creds'
  -h, --help         show this help`;

export const storyCommand: Command = {
  summary: 'play the Plug&Charge story against participants running on a NATS cluster',
  usage,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { nats: { type: 'string' }, creds: { type: 'string' } });
    if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}' (see openpnc story --help)`);
    const servers = (values.nats ?? '').split(',').map((url) => url.trim()).filter(Boolean);
    if (servers.length === 0) throw new CliError('--nats URL[,URL…] is required: the story plays against running participants');
    const bus = await connectAs({ servers, name: 'admin', connectionName: 'openpnc story', ...(values.creds ? { credsDir: values.creds } : {}) }).catch((error: unknown) => {
      if (PncError.is(error, 'CredentialInvalid')) throw new CliError((error as Error).message, 1);
      throw new CliError(`bus unavailable: ${(error as Error).message.split('\n')[0]}`, 1);
    });
    const timeline = new Timeline();
    timeline.onBegin((entry) => console.log(formatEntry(entry)));
    timeline.onEnd((entry) => {
      const failure = formatFailure(entry);
      if (failure) console.log(failure);
    });
    try {
      console.log(`Open Plug&Charge: the six VDE processes against the participants on ${servers.join(', ')}`);
      await playStory((who) => timeline.busFor(who, bus), bus, (line) => console.log(line));
      return 0;
    } catch (error) {
      if (error instanceof PncError) throw new CliError(`story failed: ${error.code}: ${error.message}`, 1);
      throw error;
    } finally {
      await bus.close();
    }
  },
};
