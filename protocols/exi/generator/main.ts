/** `npm run gen:exi`: regenerates protocols/exi/generated/ from the XSDs. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateAll, GENERATED_DIR } from './generate.ts';

mkdirSync(GENERATED_DIR, { recursive: true });
for (const [file, text] of generateAll()) {
  writeFileSync(join(GENERATED_DIR, file), text);
  console.log(`wrote ${join('protocols/exi/generated', file)} (${text.length} bytes)`);
}
