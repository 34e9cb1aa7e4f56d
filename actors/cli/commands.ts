// The command table. Each line loads its module lazily; keep one line per command.
import { registerCommand } from './main.ts';

void registerCommand;
registerCommand('emaid', async () => (await import('./emaid.ts')).emaidCommand);
registerCommand('exi', async () => (await import('./exi.ts')).exiCommand);
registerCommand('pcid', async () => (await import('./pcid.ts')).pcidCommand);
registerCommand('pki', async () => (await import('./pki.ts')).pkiCommand);
