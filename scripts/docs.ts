// `pnpm docs`: rewrites every generated table in the docs from the code (scripts/doc-tables.ts); run it
// after changing a setting, an exit code or the stop schedule. test/docs fails until you do.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generatedDocs, readDoc, renderDoc } from './doc-tables.ts';

const root = path.resolve(import.meta.dirname, '..');
for (const file of generatedDocs()) {
  const text = readDoc(file);
  const rendered = renderDoc(text, file);
  if (rendered === text) continue;
  writeFileSync(path.join(root, file), rendered);
  console.log(`${file}: tables rewritten`);
}
