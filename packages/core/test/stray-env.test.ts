import { describe, expect, it } from 'vitest';
import { echo } from '../src/errors.ts';
import { seconds } from '../src/settings.ts';
import { strayVariables } from '../src/stray-env.ts';

const known = ['DRAIN_DELAY', 'DRAIN_TIMEOUT', 'ENVOY_ADMIN_URL', 'STOP_TIMEOUT', 'PORT'].map((env) => ({
  plugin: undefined,
  option: undefined,
  env,
  value: 1,
  source: 'default' as const,
}));

describe('strayVariables', () => {
  it('names unknown DRAIN_*/ENVOY_* variables and near misses of known ones, with the closest known name', () => {
    const env = {
      DRAIN_DEALY: '1',
      ENVOY_WHATEVER: '1',
      STOP_TIMOUT: '1',
      DRAIN_DELAY: '1',
      PORTS: '1',
      HOSTNAME: 'x',
      AWS_REGION: 'eu-west-1',
      ENVOY_UID: '101',
    };
    expect(strayVariables(env, known)).toEqual([
      { name: 'DRAIN_DEALY', closest: 'DRAIN_DELAY' },
      { name: 'ENVOY_WHATEVER', closest: 'ENVOY_ADMIN_URL' },
      { name: 'STOP_TIMOUT', closest: 'STOP_TIMEOUT' },
    ]);
  });

  it('finds a near miss whatever two edits spoil, and only near misses, in a task-sized environment', () => {
    const env = {
      SXOP_TIMEOUX: '1', // edits at both ends
      STOP_TMEOUT: '1', // one deletion in the middle
      STOP_TIIMEOUTT: '1', // two insertions
      STOP_TIMEX_YZ: '1', // four edits: not a near miss
      AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/x',
    };
    expect(strayVariables(env, known)).toEqual([
      { name: 'STOP_TIIMEOUTT', closest: 'STOP_TIMEOUT' },
      { name: 'STOP_TMEOUT', closest: 'STOP_TIMEOUT' },
      { name: 'SXOP_TIMEOUX', closest: 'STOP_TIMEOUT' },
    ]);
  });
});

describe('echo and bounded seconds', () => {
  it('masks URL credentials, hides secrets and cuts long values', () => {
    expect(echo('http://user:pw@host:1')).toBe('"http://[redacted]@host:1"');
    expect(echo('s.token', { secret: true })).toBe('[redacted]');
    expect(echo('y'.repeat(200))).toBe(`"${'y'.repeat(79)}…(202 chars)`);
  });

  it('refuses what a timer cannot hold, and what a tighter bound refuses', () => {
    expect(seconds(40).parse('2147483', true)).toBe(2_147_483);
    expect(seconds(40).parse('2147484', true)).toBeUndefined();
    expect(seconds(120, { allowZero: false, max: 3600 }).parse(3601, false)).toBeUndefined();
  });
});
