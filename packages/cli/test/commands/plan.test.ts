import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHelper } from '../../../../test/support/helper-process.ts';
import { tempDir } from '../../../../test/support/temp-config.ts';

const PROBE = path.resolve(import.meta.dirname, '../../../../test/support/fixtures/probe.ts');

async function plan(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const { code, stdout, stderr } = await runHelper(['plan', ...args], { env, ...(cwd ? { cwd } : {}) });
  return { code, text: stdout, stderr };
}

const section = (text: string, title: string): string => {
  const start = text.indexOf(title);
  return text.slice(start, text.indexOf('\n\n', start) === -1 ? undefined : text.indexOf('\n\n', start));
};

describe('task-helper plan', () => {
  it('shows the default plan: settings with their sources, hooks in order, and a stop sequence that fits', async () => {
    const { code, text, stderr } = await plan([], { DRAIN_DELAY: '30' }, tempDir({}));
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(text).toContain('task-helper plan: no config file, the built-in plugins');
    expect(text).toMatch(/DRAIN_DELAY +30 +env +delay/);
    expect(text).toMatch(/DRAIN_TIMEOUT +40 +default +delay/);
    expect(text).toMatch(/STOP_TIMEOUT +120 +default +core/);
    expect(section(text, 'Hooks')).toMatch(
      /beforeDrain +envoy \(stage -200\), app-check \(stage -100\), envoy \(stage -50\), delay \(stage 10\)\n +drain +envoy \(stage -1\), delay \(stage 100\)/,
    );
    expect(text).toContain("fits: the waits end at 70 s, before the stop budget's 115 s");
  });

  it('draws the stop sequence to scale', async () => {
    const { text } = await plan(
      [],
      { DRAIN_DELAY: '20', DRAIN_TIMEOUT: '50', STOP_TIMEOUT: '60', DRAIN_MIN: '5' },
      tempDir({}),
    );
    expect(section(text, 'Stop sequence')).toMatchSnapshot();
    expect(text).toContain('does not fit: the waits would end at 70 s, but the stop budget ends them at 55 s');
  });

  it("shows a config file's plugins, options from the file, and env overrides", async () => {
    const dir = tempDir({
      'c.json': {
        stopTimeout: 90,
        plugins: [
          [PROBE, { name: 'notify' }],
          ['@task-helper/plugin-delay', { drainDelay: 10, drainTimeout: 20 }],
        ],
      },
    });
    const { code, text } = await plan(['--config', 'c.json'], { DRAIN_TIMEOUT: '25' }, dir);
    expect(code).toBe(0);
    expect(text).toContain(`task-helper plan: ${path.join(dir, 'c.json')}`);
    expect(text).toMatch(/STOP_TIMEOUT +90 +file +core/);
    expect(text).toMatch(/DRAIN_DELAY +10 +file +delay/);
    expect(text).toMatch(/DRAIN_TIMEOUT +25 +env +delay/);
    expect(section(text, 'Hooks')).toMatch(/afterDrain +notify \(stage 0\)/);
  });

  it('--json gives the same as data', async () => {
    const { code, text } = await plan(['--json'], { DRAIN_DELAY: '1', DRAIN_TIMEOUT: '2' }, tempDir({}));
    expect(code).toBe(0);
    const data = JSON.parse(text);
    expect(data.config).toBeNull();
    expect(data.settings).toContainEqual({
      plugin: 'delay',
      option: 'drainDelay',
      env: 'DRAIN_DELAY',
      value: 1,
      source: 'env',
    });
    expect(data.hooks.drain.map((t: { plugin: string; stage: number }) => [t.plugin, t.stage])).toEqual([
      ['envoy', -1],
      ['delay', 100],
    ]);
    expect(data.timeline).toMatchObject({
      stopTimeoutMs: 120_000,
      abortAtMs: 115_000,
      actionDueMs: 113_000,
      delayMs: 1_000,
      drainWaitMs: 2_000,
      waitsEndMs: 3_000,
      fits: true,
    });
    expect(
      data.timeline.entries.map((e: { plugin: string; startMs: number; endMs: number }) => [
        e.plugin,
        e.startMs,
        e.endMs,
      ]),
    ).toEqual([
      ['envoy', 0, 0],
      ['app-check', 0, 0],
      ['envoy', 0, 0],
      ['delay', 0, 1_000],
      ['envoy', 1_000, 1_000],
      ['delay', 1_000, 3_000],
      ['envoy', 3_000, 3_000],
    ]);
  });

  it('shows the schedule that will run when the waits do not fit: STOP_TIMEOUT 30 with the defaults', async () => {
    const { text } = await plan(['--json'], { STOP_TIMEOUT: '30' }, tempDir({}));
    const { timeline } = JSON.parse(text);
    expect(timeline).toMatchObject({
      abortAtMs: 25_000,
      actionDueMs: 12_500,
      delayMs: 12_500,
      drainWaitMs: 12_500,
      plannedEndMs: 80_000,
      waitsEndMs: 25_000,
      fits: false,
      cut: true,
    });
    expect(
      timeline.entries.map((e: { plugin: string; startMs: number; endMs: number; cut: boolean }) => [
        e.plugin,
        e.startMs,
        e.endMs,
        e.cut,
      ]),
    ).toEqual([
      ['envoy', 0, 0, false],
      ['app-check', 0, 0, false],
      ['envoy', 0, 0, false],
      ['delay', 0, 12_500, true],
      ['envoy', 12_500, 12_500, false],
      ['delay', 12_500, 25_000, true],
      ['envoy', 25_000, 25_000, false],
    ]);
    const drawn = section((await plan([], { STOP_TIMEOUT: '30' }, tempDir({}))).text, 'Stop sequence');
    expect(drawn).toMatch(/delay +\|█{20} {28}\| +0 s–12\.5 s +beforeDrain: DRAIN_DELAY \(cut by the stop budget\)/);
    expect(drawn).toMatch(/envoy +\| {20}▏ {27}\| +12\.5 s +drain: POST \/healthcheck\/fail/);
    expect(drawn).toMatch(/delay +\| {20}█{20} {8}\| +12\.5 s–25 s +drain: DRAIN_TIMEOUT \(cut by the stop budget\)/);
  });

  it('exits 78 with the usual one line when the config is invalid, so CI can run it before deploying', async () => {
    const { code, text, stderr } = await plan(['--config', 'c.json'], {}, tempDir({ 'c.json': { stopTimeout: 0 } }));
    expect(code).toBe(78);
    expect(text).toBe('');
    expect(JSON.parse(stderr)).toMatchObject({
      level: 'fatal',
      msg: expect.stringMatching(
        /stopTimeout=0 is invalid: expected a number of seconds ≥ 5 \(the least that leaves POST \/healthcheck\/fail/,
      ),
    });
  });
});
