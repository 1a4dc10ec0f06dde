import { describe, expect, it } from 'vitest';
import { ConfigError, definePlugin, httpUrl, port, seconds, type ResolvedConfig } from '@task-helper/core';
import { createTestRunner } from '@task-helper/core/testing';

/** A plugin whose apply reports the settings it received. */
function reporter() {
  const seen: Array<Readonly<Record<string, unknown>>> = [];
  const factory = definePlugin({
    name: 'reporter',
    settings: {
      url: { env: 'REPORT_URL', parse: httpUrl, required: true },
      accessPort: { env: 'REPORT_PORT', parse: port, envOnly: true },
      target: {
        parse: httpUrl,
        default: ({ accessPort }: Readonly<Record<string, unknown>>) => `http://127.0.0.1:${accessPort ?? 80}`,
      },
      timeout: { env: 'REPORT_TIMEOUT', parse: seconds(3), default: 3 },
      token: { env: 'REPORT_TOKEN', parse: httpUrl, secret: true },
    },
    apply(hooks, { settings }) {
      seen.push(settings);
      hooks.afterDrain.tapPromise({}, async () => undefined);
    },
  });
  return { factory, seen };
}

describe('definePlugin', () => {
  it('resolves each declared setting once: env over option over default, a default computed from earlier ones', () => {
    const { factory, seen } = reporter();
    createTestRunner({
      plugins: [factory({ url: 'https://a.example', timeout: 5 })],
      env: { REPORT_PORT: '9000', REPORT_TIMEOUT: '7' },
    });
    expect(seen).toEqual([
      { url: 'https://a.example', accessPort: 9000, target: 'http://127.0.0.1:9000', timeout: 7, token: undefined },
    ]);
  });

  it('records where each value came from for plan, a secret one redacted', () => {
    const { factory } = reporter();
    const { runner } = createTestRunner({
      plugins: [factory({ url: 'https://a.example' })],
      env: { REPORT_TOKEN: 'https://user:pw@b.example' },
    });
    expect(runner.settings.filter((s) => s.plugin === 'reporter')).toEqual([
      { plugin: 'reporter', option: 'url', env: 'REPORT_URL', value: 'https://a.example', source: 'file' },
      { plugin: 'reporter', option: undefined, env: 'REPORT_PORT', value: undefined, source: 'default' },
      { plugin: 'reporter', option: 'target', env: undefined, value: 'http://127.0.0.1:80', source: 'default' },
      { plugin: 'reporter', option: 'timeout', env: 'REPORT_TIMEOUT', value: 3, source: 'default' },
      { plugin: 'reporter', option: 'token', env: 'REPORT_TOKEN', value: '[redacted]', source: 'env', secret: true },
    ]);
  });

  it('gives a computed default the resolved config, so a setting can default to the ECS task', () => {
    const factory = definePlugin({
      name: 'task-reader',
      settings: {
        cluster: {
          env: 'READER_CLUSTER',
          parse: httpUrl,
          default: (_settings: unknown, config: ResolvedConfig) => `https://${config.task?.cluster ?? 'none'}.example`,
        },
      },
      apply(hooks, { settings }) {
        hooks.afterDrain.tapPromise({ plan: { label: settings.cluster } }, async () => undefined);
      },
    });
    const task = {
      taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/prod/abc',
      taskId: 'abc',
      cluster: 'prod',
      taskDefinition: 'orders:7',
      containerName: 'helper',
      privateIpv4: '10.0.1.17',
      region: 'eu-west-1',
      accountId: '123456789012',
      launchType: 'FARGATE',
    };
    expect(createTestRunner({ plugins: [factory()], task }).runner.settings.at(-1)).toMatchObject({
      value: 'https://prod.example',
      source: 'default',
    });
    expect(createTestRunner({ plugins: [factory()] }).runner.settings.at(-1)).toMatchObject({
      value: 'https://none.example',
      source: 'default',
    });
  });

  it.each([
    [{}, 'plugin "reporter": the url option (or REPORT_URL) is required'],
    [
      { url: 'https://a.example', accessPort: 1 },
      'plugin "reporter": unknown option "accessPort"; known options: url, target, timeout, token',
    ],
    [
      { url: 'https://a.example', timeout: '3' },
      'plugin "reporter": timeout="3" is invalid: expected a number of seconds ≥ 0, such as 3',
    ],
  ])('rejects options %j with one line naming the culprit', (options, message) => {
    const { factory } = reporter();
    const create = () => createTestRunner({ plugins: [factory(options as never)] });
    expect(create).toThrow(ConfigError);
    expect(create).toThrow(message);
  });

  it('names every tap after its plugin, so steps are attributed to it', async () => {
    const { factory } = reporter();
    const { runner } = createTestRunner({ plugins: [factory({ url: 'https://a.example' })] });
    expect(await runner.stop('SIGTERM')).toBe(0);
    expect(runner.steps).toEqual([{ plugin: 'reporter', hook: 'afterDrain', ms: expect.any(Number), outcome: 'ok' }]);
  });
});
