// The command table. Each line loads its module lazily; keep one line per command.
import { registerCommand } from './main.ts';

registerCommand('chaos', async () => (await import('./chaos.ts')).chaosCommand);
registerCommand('deploy', async () => (await import('../../deploy/command.ts')).deployCommand);
registerCommand('emaid', async () => (await import('./emaid.ts')).emaidCommand);
registerCommand('exi', async () => (await import('./exi.ts')).exiCommand);
registerCommand('participants', async () => (await import('./participants.ts')).participantsCommand);
registerCommand('inspect', async () => (await import('./inspect.ts')).inspectCommand);
registerCommand('ocpp', async () => (await import('./ocpp.ts')).ocppCommand);
registerCommand('opcp', async () => (await import('./opcp.ts')).opcpCommand);
registerCommand('pcid', async () => (await import('./pcid.ts')).pcidCommand);
registerCommand('pki', async () => (await import('./pki.ts')).pkiCommand);
registerCommand('run', async () => (await import('./run.ts')).runCommand);
registerCommand('statecharts', async () => (await import('./statecharts.ts')).statechartsCommand);
registerCommand('story', async () => (await import('../story/play.ts')).storyCommand);
registerCommand('secc', async () => (await import('./charge.ts')).seccCommand);
registerCommand('ev', async () => (await import('./charge.ts')).evCommand);
registerCommand('vehicle', async () => (await import('./vehicle.ts')).vehicleCommand);
registerCommand('start', async () => (await import('./start.ts')).startCommand);
registerCommand('v2g', async () => (await import('../transport/cli.ts')).v2gCommand);
registerCommand('modem', async () => (await import('./link.ts')).modemCommand);
registerCommand('slac', async () => (await import('./link.ts')).slacCommand);
