import { describe, expect, it } from 'vitest';
import { ConfigError, readCoreSettings } from '@task-helper/core/host';

const read = (env: Record<string, string>, options: Record<string, unknown> = {}) => readCoreSettings(options, env);
/** The error's message: the refusal is a ConfigError of one line. */
const refusal = (env: Record<string, string>, options: Record<string, unknown> = {}): unknown => {
  try {
    read(env, options);
    return 'accepted';
  } catch (error) {
    return error;
  }
};

describe('PRESTOP_HOST and PRESTOP_PORT: the preStop endpoint', () => {
  it('unset: no endpoint, and STOP_TIMEOUT keeps its default', () => {
    expect(read({})).toMatchObject({ preStop: undefined, stopTimeout: 120 });
  });

  it('both set, with STOP_TIMEOUT: the address, IPv4 or IPv6, and both recorded for plan', () => {
    expect(read({ PRESTOP_HOST: '10.1.2.3', PRESTOP_PORT: '9902', STOP_TIMEOUT: '30' })).toMatchObject({
      preStop: { host: '10.1.2.3', port: 9902 },
      stopTimeout: 30,
    });
    expect(read({ PRESTOP_HOST: 'fd00::12', PRESTOP_PORT: '9902', STOP_TIMEOUT: '30' }).preStop).toEqual({
      host: 'fd00::12',
      port: 9902,
    });
    const { settings } = read({ PRESTOP_HOST: '127.0.0.1', PRESTOP_PORT: '9902', STOP_TIMEOUT: '30' });
    expect(settings.map((s) => [s.env, s.source])).toEqual(
      expect.arrayContaining([
        ['PRESTOP_PORT', 'env'],
        ['PRESTOP_HOST', 'env'],
      ]),
    );
  });

  it('from the config file too', () => {
    expect(read({}, { preStopHost: '10.1.2.3', preStopPort: 9902, stopTimeout: 45 }).preStop).toEqual({
      host: '10.1.2.3',
      port: 9902,
    });
  });

  it.each([
    [
      { PRESTOP_PORT: '9902', STOP_TIMEOUT: '30' },
      /^PRESTOP_PORT is set but PRESTOP_HOST is not: set PRESTOP_HOST to the pod's IP/,
    ],
    [
      { PRESTOP_HOST: '10.1.2.3', STOP_TIMEOUT: '30' },
      /^PRESTOP_HOST is set but PRESTOP_PORT is not: set PRESTOP_PORT/,
    ],
    [
      { PRESTOP_HOST: '10.1.2.3', PRESTOP_PORT: '9902' },
      /^PRESTOP_PORT is set but STOP_TIMEOUT is not: set STOP_TIMEOUT to the pod's terminationGracePeriodSeconds/,
    ],
    [
      { PRESTOP_HOST: '10.1.2.3', PRESTOP_PORT: '9902', STOP_TIMEOUT: '6' },
      /^STOP_TIMEOUT=6 is too short with PRESTOP_PORT: .* at least 7$/,
    ],
    [
      { PRESTOP_HOST: 'orders.local', PRESTOP_PORT: '9902', STOP_TIMEOUT: '30' },
      /^PRESTOP_HOST="orders.local" is invalid: expected an IPv4 or IPv6 address/,
    ],
    [
      { PRESTOP_HOST: '$(POD_IP)', PRESTOP_PORT: '9902', STOP_TIMEOUT: '30' },
      /^PRESTOP_HOST="\$\(POD_IP\)" is invalid/,
    ],
    [
      { PRESTOP_HOST: '10.1.2.3', PRESTOP_PORT: '0', STOP_TIMEOUT: '30' },
      /^PRESTOP_PORT="0" is invalid: expected a TCP port/,
    ],
  ])('%o: one line naming the setting and the fix', (env, message) => {
    const error = refusal(env);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('7 s, the least: the drain keeps its 2 s for the action and the held container its 2 s', () => {
    expect(read({ PRESTOP_HOST: '10.1.2.3', PRESTOP_PORT: '9902', STOP_TIMEOUT: '7' }).stopTimeout).toBe(7);
  });
});
