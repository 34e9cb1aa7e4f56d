// The command table. Each line loads its module lazily; keep one line per command.
import { registerCommand } from './main.ts';

registerCommand('deploy', async () => (await import('../../deploy/command.ts')).deployCommand);
registerCommand('emaid', async () => (await import('./emaid.ts')).emaidCommand);
registerCommand('exi', async () => (await import('./exi.ts')).exiCommand);
registerCommand('participants', async () => (await import('./participants.ts')).participantsCommand);
registerCommand('ocpp', async () => (await import('./ocpp.ts')).ocppCommand);
registerCommand('opcp', async () => (await import('./opcp.ts')).opcpCommand);
registerCommand('pcid', async () => (await import('./pcid.ts')).pcidCommand);
registerCommand('pki', async () => (await import('./pki.ts')).pkiCommand);
registerCommand('run', async () => (await import('./run.ts')).runCommand);
registerCommand('story', async () => (await import('../story/play.ts')).storyCommand);
registerCommand('start', async () => (await import('./start.ts')).startCommand);
