import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { envoyBinary } from '../../test/support/envoy-binary.ts';
import { realEnvoyMissing } from '../../test/support/real-envoy.ts';
import { GATEWAY_MANIFEST, loadManifest } from './manifests.ts';

describe("the gateway's Envoy bootstrap (examples/kubernetes/gateway.yaml's ConfigMap)", () => {
  it.skipIf(realEnvoyMissing())('is one the real Envoy accepts (envoy --mode validate)', () => {
    const config = loadManifest(GATEWAY_MANIFEST).documents.find((d) => d.kind === 'ConfigMap')!.data!['envoy.yaml']!;
    const dir = mkdtempSync(path.join(tmpdir(), 'gateway-envoy-'));
    try {
      const file = path.join(dir, 'envoy.yaml');
      writeFileSync(file, config);
      const out = spawnSync(
        envoyBinary,
        ['--mode', 'validate', '-c', file, '--disable-hot-restart', '--log-level', 'warn'],
        {
          encoding: 'utf8',
        },
      );
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout).toContain(`configuration '${file}' OK`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
