import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { envoyBinary } from '../../test/support/envoy-binary.ts';
import { envoyVersion, realEnvoyMissing } from '../../test/support/real-envoy.ts';
import { commandFlag, dockerfile, EXAMPLE_BOOTSTRAP, sidecar } from './envoy-example.ts';

const missing = realEnvoyMissing();
const facts = sidecar();
const image = dockerfile();

describe('the Envoy sidecar example (examples/envoy)', () => {
  it.skipIf(missing)('is a bootstrap the real Envoy accepts (envoy --mode validate)', () => {
    const out = spawnSync(
      envoyBinary,
      ['--mode', 'validate', '-c', EXAMPLE_BOOTSTRAP, '--disable-hot-restart', '--log-level', 'warn'],
      { encoding: 'utf8' },
    );
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toContain(`configuration '${EXAMPLE_BOOTSTRAP}' OK`);
  });

  it('keeps the admin API on loopback, port 9901', () => {
    expect(facts.admin).toEqual({ address: '127.0.0.1', port_value: 9901 });
  });

  it("has an INBOUND ingress listener on 15000 with stat prefix ingress, running the health check filter on the app's health path before the router", () => {
    expect(facts.ingress).toMatchObject({
      address: '0.0.0.0',
      port: 15000,
      direction: 'INBOUND',
      statPrefix: 'ingress',
      healthPath: '/ping/ping',
    });
    expect(facts.ingress.httpFilters).toEqual(['envoy.filters.http.health_check', 'envoy.filters.http.router']);
    expect(facts.app).toEqual({ address: '127.0.0.1', port_value: 8080 });
  });

  it('has an OUTBOUND egress listener for the app, on loopback only', () => {
    expect(facts.egress).toMatchObject({
      address: '127.0.0.1',
      port: 15001,
      direction: 'OUTBOUND',
      healthPath: undefined,
    });
  });

  it.skipIf(missing)('builds FROM the official image of the Envoy version the tests run', () => {
    const version = /\/(\d+\.\d+\.\d+)\//.exec(envoyVersion())?.[1];
    expect(image.from).toBe(`envoyproxy/envoy:v${version}`);
  });

  it('runs the bootstrap it copies in, with the immediate drain strategy', () => {
    expect(image.copies).toEqual([['envoy.yaml', commandFlag('-c', image.cmd)]]);
    expect(image.cmd[0]).toBe('envoy');
    expect(commandFlag('--drain-strategy', image.cmd)).toBe('immediate');
    expect(Number(commandFlag('--drain-time-s', image.cmd))).toBeGreaterThan(0);
  });
});
