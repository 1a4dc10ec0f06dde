// After `pnpm install`: the `node` package's bin shim (node_modules/.bin/node) runs Node as a child
// of a shell and does not forward signals, so `kill -TERM` on node_modules/.bin/task-helper would
// stop the shell and leave the helper running, undrained. A link to the binary itself fixes that.
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

const bin = path.resolve(import.meta.dirname, '../node_modules/.bin');
if (existsSync(path.join(bin, '../node/bin/node'))) {
  rmSync(path.join(bin, 'node'), { force: true });
  symlinkSync('../node/bin/node', path.join(bin, 'node'));
}
