import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runHelper, startHelper } from '../support/helper-process.ts';
import { startTask, type SimTask } from '../support/task.ts';
import { tempDir } from '../support/temp-config.ts';

let task: SimTask | undefined;
afterEach(() => task?.close());

/** `run` with this environment must exit 78 before doing anything, with exactly one fatal line. */
async function refused(env: Record<string, string>, args: string[] = [], cwd?: string) {
  const helper = startHelper(['run', ...args], { env, ...(cwd ? { cwd } : {}) });
  const { code } = await helper.exited;
  expect(helper.stderr()).toBe('');
  expect(helper.lines).toEqual([expect.objectContaining({ level: 'fatal', exitCode: 78 })]);
  expect(code).toBe(78);
  return helper.lines[0]!.msg;
}

describe('timeouts ECS or a timer cannot honour are refused', () => {
  it.each([
    [
      { STOP_TIMEOUT: '3000000' },
      /^STOP_TIMEOUT="3000000" is invalid: expected .*at most 3600 \(.*120 on Fargate; EC2 documents no maximum\)$/,
    ],
    [{ STOP_TIMEOUT: '3601' }, /^STOP_TIMEOUT="3601" is invalid/],
    [{ START_TIMEOUT: '3000000' }, /^START_TIMEOUT="3000000" is invalid: expected .*at most 3600/],
    [
      { DRAIN_DELAY: '3000000' },
      /^plugin "delay": DRAIN_DELAY="3000000" is invalid: expected .*at most 2147483 \(the longest timer Node holds\)$/,
    ],
  ])('%j', async (env, message) => {
    expect(await refused(env)).toMatch(message);
  });

  it('stopTimeout in the config file, too', async () => {
    const cwd = tempDir({ '.task-helperrc.json': { stopTimeout: 100_000 } });
    expect(await refused({}, [], cwd)).toMatch(
      /\.task-helperrc\.json: stopTimeout=100000 is invalid: expected .*at most 3600/,
    );
  });
});

describe('ENVOY_ADMIN_URL: one protocol, plain http://host:port', () => {
  it.each([
    ['https://127.0.0.1:9901'],
    ['http://127.0.0.1:9901/admin'],
    ['http://127.0.0.1:9901?x=1'],
    ['http://127.0.0.1:9901#ready'],
    ['http://127.0.0.1:6000'],
  ])('%s is refused', async (url) => {
    expect(await refused({ ENVOY_ADMIN_URL: url })).toMatch(
      /^plugin "envoy": ENVOY_ADMIN_URL=.* is invalid: expected a plain http:\/\/host:port URL/,
    );
  });

  it('credentials are refused and never printed', async () => {
    const message = await refused({ ENVOY_ADMIN_URL: 'http://admin:hunter2@127.0.0.1:9901' });
    expect(message).toBe(
      'plugin "envoy": ENVOY_ADMIN_URL="http://[redacted]@127.0.0.1:9901" is invalid: expected a plain http://host:port URL (no https, credentials, path, query or fragment) on a port that fetch allows (not 6000, 6665-6669 and the like)',
    );
    expect(message).not.toContain('hunter2');
  });

  it('ENVOY_ADMIN_ACCESS_PORT on a port fetch refuses is refused', async () => {
    expect(await refused({ ENVOY_ADMIN_ACCESS_PORT: '6000' })).toMatch(
      /^plugin "envoy": ENVOY_ADMIN_ACCESS_PORT="6000" is invalid/,
    );
  });

  it('a trailing slash is fine: the drain POSTs to the same origin', async () => {
    task = await startTask();
    const helper = startHelper(['run'], {
      env: { ...task.env, ENVOY_ADMIN_URL: `${task.envoy.adminUrl}/`, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' },
    });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(task.envoy.calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([
      '/healthcheck/fail',
      '/drain_listeners',
    ]);
  });
});

describe('variables that look like ours but are not', () => {
  const typos = {
    DRAIN_DEALY: '5',
    DRAIN_TIMOUT: '5',
    ENVOY_ADMIN: 'x',
    STOP_TIMOUT: '30',
    ENVOY_UID: '101',
    ENVOY_GID: '101',
    ENVOY_LOG_LEVEL: 'info',
    HOSTNAME: 'ip-10-0-0-1',
  };

  it('run warns at start, naming the closest real one; Envoy image variables and others are left alone', async () => {
    task = await startTask();
    const helper = startHelper(['run'], { env: { ...task.env, ...typos, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' } });
    await helper.waitForLog('ready');
    const warned = helper.lines.filter(
      (l) => l.msg === 'environment variable ignored: task-helper and its plugins do not read it',
    );
    expect(warned.map((l) => [l.variable, l.closest])).toEqual([
      ['DRAIN_DEALY', 'DRAIN_DELAY'],
      ['DRAIN_TIMOUT', 'DRAIN_TIMEOUT'],
      ['ENVOY_ADMIN', 'ENVOY_ADMIN_URL'],
      ['STOP_TIMOUT', 'STOP_TIMEOUT'],
    ]);
    expect(warned[0]).toMatchObject({ level: 'warn', phase: 'start' });
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
  });

  it('plan lists them, in text and JSON', async () => {
    const text = await runHelper(['plan'], { env: typos });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      'Environment variables nothing reads (typos?)\n  DRAIN_DEALY   did you mean DRAIN_DELAY?\n',
    );
    expect(text.stdout).not.toContain('ENVOY_UID');
    const json = await runHelper(['plan', '--json'], { env: typos });
    expect(JSON.parse(json.stdout).unknownEnv).toEqual([
      { name: 'DRAIN_DEALY', closest: 'DRAIN_DELAY' },
      { name: 'DRAIN_TIMOUT', closest: 'DRAIN_TIMEOUT' },
      { name: 'ENVOY_ADMIN', closest: 'ENVOY_ADMIN_URL' },
      { name: 'STOP_TIMOUT', closest: 'STOP_TIMEOUT' },
    ]);
  });
});

describe('--config that cannot be used', () => {
  it.each([
    [['--config', '.'], /^--config \.: .* is a folder; name the config file itself$/],
    [
      ['--config', '/proc/self/mem'],
      /^--config \/proc\/self\/mem: \/proc\/self\/mem cannot be read \(EIO\); pass a readable file$/,
    ],
    [['--config', ''], /^--config="" is invalid: expected a config file's path$/],
    [['--config='], /^--config="" is invalid: expected a config file's path$/],
  ])('%j exits 78 with one line', async (args, message) => {
    expect(await refused({}, args, tempDir({}))).toMatch(message);
  });

  it('--config without a value is a usage error: exit 2, no stack trace', async () => {
    const { code, stderr, lines } = await runHelper(['run', '--config']);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n').at(-1)).toBe('task-helper: Not enough arguments following: config');
    expect(stderr + lines.map((l) => l.msg).join('\n')).not.toMatch(/\n\s+at /);
  });
});

describe('secret settings are never shown, and long values are cut', () => {
  // A plugin with a secret setting, as a team would write one.
  const config = (extra = '') =>
    tempDir({
      'task-helper.config.mjs': `export default { plugins: [{ name: 'vault', apply(hooks, { setting }) {
        setting({ env: 'VAULT_TOKEN', secret: true, fallback: undefined, parse: { expected: 'a token starting with s.', parse: (raw) => (typeof raw === 'string' && raw.startsWith('s.') ? raw : undefined) } }, {});
      } }] };${extra}`,
    });

  it('plan shows "[redacted]", in text and JSON', async () => {
    const cwd = config();
    const text = await runHelper(['plan'], { env: { VAULT_TOKEN: 's.topsecret' }, cwd });
    expect(text.stdout).toMatch(/VAULT_TOKEN\s+"\[redacted\]"\s+env\s+vault/);
    const json = await runHelper(['plan', '--json'], { env: { VAULT_TOKEN: 's.topsecret' }, cwd });
    expect(JSON.parse(json.stdout).settings).toContainEqual({
      plugin: 'vault',
      env: 'VAULT_TOKEN',
      value: '[redacted]',
      source: 'env',
      secret: true,
    });
    expect(text.stdout + json.stdout).not.toContain('topsecret');
  });

  it('an invalid secret is not echoed in the fatal line', async () => {
    expect(await refused({ VAULT_TOKEN: 'hunter2' }, [], config())).toBe(
      'plugin "vault": VAULT_TOKEN=[redacted] is invalid: expected a token starting with s.',
    );
  });

  it('an invalid value is echoed cut to 80 characters', async () => {
    const message = await refused({ DRAIN_DELAY: 'x'.repeat(5_000) });
    expect(message).toMatch(/^plugin "delay": DRAIN_DELAY="x{79}…\(5002 chars\) is invalid/);
  });
});

describe("a URL's credentials are masked by parsing, whatever the password holds", () => {
  // Unencoded, as pasted: WHATWG ends the userinfo at the first `/`, `?` or `#` (host `ss` in
  // http://user:p@ss/word@host), so a mask up to the first `@` showed the rest of the password.
  // Each part four characters or more, so no temporary folder's random name can contain one by chance.
  const NASTY = ['Xpqa@Yssb/Zwdc', 'Zqad/Ybbe@Wccf', 'Kxxg#Jyyh@Lzzi', 'Mqqj?Nrrk@Ossl:Q77m', 'Pqqn"Rtto@Suup'];
  const leaks = (text: string, password: string) =>
    password
      .split(/[@/#?:"]/)
      .filter((part) => part.length > 0)
      .filter((part) => text.includes(part));

  it.each(NASTY)('ENVOY_ADMIN_URL=http://admin:%s@127.0.0.1:9901: refused, the fatal line masked', async (password) => {
    const message = await refused({ ENVOY_ADMIN_URL: `http://admin:${password}@127.0.0.1:9901` });
    expect(message).toMatch(/^plugin "envoy": ENVOY_ADMIN_URL="http:\/\/\[redacted\]@127\.0\.0\.1:9901" is invalid/);
    expect(leaks(message, password)).toEqual([]);
  });

  it.each(NASTY)('AWS_ENDPOINT_URL=https://key:%s@moto.local: refused, the fatal line masked', async (password) => {
    const dir = tempDir({
      'c.json': { plugins: [['@task-helper/plugin-aws/cloud-map', { serviceId: 'srv-0123456789abcdef' }]] },
    });
    const message = await refused(
      { AWS_REGION: 'us-west-2', AWS_ENDPOINT_URL: `https://key:${password}@moto.local:5000` },
      ['--config', `${dir}/c.json`],
    );
    expect(message).toMatch(
      /^plugin "cloud-map": AWS_ENDPOINT_URL="https:\/\/\[redacted\]@moto\.local:5000" is invalid/,
    );
    expect(leaks(message, password)).toEqual([]);
  });

  // A team's plugin whose own URL setting may carry credentials: it puts the URL in its plan
  // label, logs it, and fails with it in the error.
  const webhook = () =>
    tempDir({
      'task-helper.config.mjs': `export default { plugins: [{ name: 'webhook', apply(hooks, { setting }) {
        const url = setting({ env: 'WEBHOOK_URL', fallback: undefined, parse: { expected: 'an http:// URL', parse: (raw) => (typeof raw === 'string' && raw.startsWith('http://') ? raw : undefined) } }, {});
        hooks.onStart.tapPromise({ name: 'webhook', plan: { label: 'notify ' + url } }, async (ctx) => {
          ctx.logger.info({ url }, 'webhook configured');
          throw new Error('POST ' + url + '/started failed: ECONNREFUSED');
        });
        hooks.health.tapPromise({ name: 'webhook' }, async () => {
          throw new Error('GET ' + url + '/health failed: ECONNREFUSED');
        });
      } }] };`,
    });

  it.each(NASTY)("a plugin's own setting, WEBHOOK_URL with %s: masked in plan (text and JSON)", async (password) => {
    const cwd = webhook();
    const env = { WEBHOOK_URL: `http://hook:${password}@hooks.example.com:8080` };
    const text = await runHelper(['plan'], { env, cwd });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/WEBHOOK_URL\s+"http:\/\/\[redacted\]@hooks\.example\.com:8080"\s+env\s+webhook/);
    const json = await runHelper(['plan', '--json'], { env, cwd });
    const plan = JSON.parse(json.stdout) as { settings: Array<{ env?: string; value: unknown }>; hooks: object };
    expect(plan.settings.find((s) => s.env === 'WEBHOOK_URL')?.value).toBe('http://[redacted]@hooks.example.com:8080');
    expect(JSON.stringify(plan.hooks)).toContain('notify http://[redacted]@hooks.example.com:8080');
    expect(leaks(text.stdout + text.stderr + json.stdout + json.stderr, password)).toEqual([]);
  });

  it.each(NASTY)("a plugin's own setting, WEBHOOK_URL with %s: masked in every log line", async (password) => {
    const helper = startHelper(['run'], {
      env: {
        WEBHOOK_URL: `http://hook:${password}@hooks.example.com:8080`,
        APP_CHECK: 'false',
        ENVOY_WAIT_READY: 'false',
      },
      cwd: webhook(),
    });
    const failed = await helper.waitForLog((l) => l.msg === 'step failed' && l.plugin === 'webhook');
    helper.kill('SIGKILL');
    await helper.exited;
    expect(failed.error).toBe('POST http://[redacted]@hooks.example.com:8080/started failed: ECONNREFUSED');
    expect(helper.lines.find((l) => l.msg === 'webhook configured')?.url).toBe(
      'http://[redacted]@hooks.example.com:8080',
    );
    expect(leaks(helper.stdout() + helper.stderr(), password)).toEqual([]);
  });

  it.each(NASTY)("a plugin's own setting, WEBHOOK_URL with %s: masked in `health`'s one line", async (password) => {
    const { code, stdout, stderr } = await runHelper(['health'], {
      env: {
        WEBHOOK_URL: `http://hook:${password}@hooks.example.com:8080`,
        APP_CHECK: 'false',
        ENVOY_ADMIN_URL: 'http://127.0.0.1:9',
      },
      cwd: webhook(),
    });
    expect(code).toBe(1);
    expect(stdout).toContain('webhook: GET http://[redacted]@hooks.example.com:8080/health failed: ECONNREFUSED');
    expect(leaks(stdout + stderr, password)).toEqual([]);
  });
});

describe('a stop that could not keep its promise is refused at start', () => {
  const fixture = (name: string) => path.resolve(import.meta.dirname, '../drain/fixtures', name);

  it('plugin-envoy listed twice (two POSTs, steps no one can tell apart)', async () => {
    expect(await refused({}, ['--config', fixture('envoy-twice.config.ts')])).toBe(
      'plugin "envoy" is listed more than once in plugins: each plugin runs once; remove the extra entry (or give your own plugin a name of its own)',
    );
  });

  it('a second drainAction tap, which would eat the time kept for Envoy', async () => {
    expect(await refused({ MISBEHAVE: 'drain:action' }, ['--config', fixture('misbehave.config.ts')])).toMatch(
      /^drain has 2 taps marked drainAction \(plugin "misbehave", plugin "envoy"\): there is one drain action, POST \/healthcheck\/fail; tap yours without drainAction/,
    );
  });

  it.each(['0.01', '4.9'])(
    'STOP_TIMEOUT=%s, too short to POST and exit: the bound is in the line and in plan',
    async (value) => {
      expect(await refused({ STOP_TIMEOUT: value })).toMatch(
        new RegExp(
          `^STOP_TIMEOUT="${value.replace('.', '\\.')}" is invalid: expected a number of seconds ≥ 5 \\(the least that leaves POST /healthcheck/fail its 2 s and the exit its margin; raise the container's ECS stopTimeout with it\\)`,
        ),
      );
    },
  );

  it('STOP_TIMEOUT=5 is accepted, and plan shows the bound', async () => {
    const text = await runHelper(['plan'], { env: { STOP_TIMEOUT: '5' } });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Stop sequence, to scale: STOP_TIMEOUT 5 s (at least 5 s),');
    const json = await runHelper(['plan', '--json'], { env: { STOP_TIMEOUT: '5' } });
    expect(JSON.parse(json.stdout).timeline).toMatchObject({ stopTimeoutMs: 5_000, minStopTimeoutMs: 5_000 });
  });
});
