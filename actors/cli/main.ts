import { CliError, wantsHelp, type Command } from './command.ts';

/** Every top-level command, loaded only when called so `openpnc exi …` never loads NATS or MongoDB. */
const commands: Record<string, () => Promise<Command>> = {};

export function registerCommand(name: string, load: () => Promise<Command>): void {
  commands[name] = load;
}

async function topLevelHelp(): Promise<string> {
  const lines = ['usage: openpnc <command> [options]', '', 'commands:'];
  for (const name of Object.keys(commands).sort()) lines.push(`  ${name.padEnd(14)} ${(await commands[name]()).summary}`);
  lines.push('', 'Run `openpnc <command> --help` for the options of one command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  await import('./commands.ts');
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      console.log(await topLevelHelp());
      return name === undefined ? 2 : 0;
    }
    const load = commands[name];
    if (!load) throw new CliError(`unknown command '${name}' (see openpnc --help)`);
    const command = await load();
    // `--help` anywhere (`openpnc exi decode --help` too) prints the command's usage: no command checks it itself.
    if (wantsHelp(rest)) {
      console.log(command.usage);
      return 0;
    }
    return await command.run(rest);
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`openpnc: ${error.message}`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    console.error(`openpnc: ${message.split('\n')[0]}`);
    return 1;
  }
}
