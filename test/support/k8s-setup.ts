import { spawnSync } from 'node:child_process';
import { dockerMissing } from './docker.ts';
import { k8sMissing, NODE_SCRIPT } from './k8s.ts';
import { importImages } from './k8s-images.ts';

const script = (command: string) =>
  spawnSync(NODE_SCRIPT, [command], { stdio: ['ignore', 'inherit', 'inherit'] }).status === 0;

/**
 * Vitest global setup of the k8s tier: the node (scripts/k8s-node.sh) once for the tier, and the
 * images imported into it. `make test` has started the node already; run alone
 * (`pnpm vitest run --project k8s`), the tier starts it here and stops it when it ends. Without
 * root, Docker or a node that starts, the tier's tests skip with the reason (k8sMissing), except
 * under CI=true, where this fails.
 */
export default async function setup(): Promise<(() => void) | undefined> {
  let startedHere = false;
  if (k8sMissing() !== undefined && process.getuid?.() === 0) {
    startedHere = script('start');
  }
  if (k8sMissing() !== undefined || dockerMissing() !== undefined) return undefined;
  await importImages();
  return startedHere ? () => void script('stop') : undefined;
}
