import { describe, expect, it } from 'vitest';
import { runHelper } from '../../../test/support/helper-process.ts';
import packageJson from '../package.json' with { type: 'json' };

describe('task-helper CLI', () => {
  it('--help lists the run command and exits 0', async () => {
    const { code, stderr, lines } = await runHelper(['--help']);
    expect(code).toBe(0);
    expect(lines.map((l) => l.msg).join('\n') + stderr).toMatch(
      /task-helper run\s+run onStart, then drain on SIGTERM or SIGINT/,
    );
  });

  it('run --help documents --config and --log-level', async () => {
    const { code, lines } = await runHelper(['run', '--help']);
    expect(code).toBe(0);
    const text = lines.map((l) => l.msg).join('\n');
    expect(text).toContain('--config');
    expect(text).toContain('--log-level');
  });

  it('--version prints the package version', async () => {
    const { code, lines } = await runHelper(['--version']);
    expect(code).toBe(0);
    expect(lines.map((l) => l.msg)).toEqual([packageJson.version]);
  });

  it.each([[[]], [['unknown-command']], [['run', '--no-such-flag']], [['run', '--log-level', 'loud']]])(
    'exits 2 with a usage message for %j',
    async (args) => {
      const { code, stderr } = await runHelper(args);
      expect(code).toBe(2);
      expect(stderr).toMatch(/task-helper: .+/);
    },
  );
});
