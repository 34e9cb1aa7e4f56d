// The command table. Each line loads its module lazily; keep one line per command.
import { registerCommand } from './main.ts';

void registerCommand;
