import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHelper } from '../../test/support/helper-process.ts';

// The example's config file as the real CLI loads it (a child process: the process tier); the
// plugin itself is unit-tested in notify.test.ts.
describe('the example config file', () => {
  const CONFIG = path.join(import.meta.dirname, 'task-helper.config.ts');

  it('loads with --config: `task-helper plan` exits 0 and lists notify in afterDrain, before envoy closes the inbound listeners', async () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const { code, lines, stderr } = await runHelper(
      ['plan', '--config', 'examples/custom-plugin/task-helper.config.ts'],
      { cwd: root },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const text = lines.map((l) => l.msg).join('\n');
    // Before plugin-envoy closes the inbound listeners (Stage.AFTER_DRAIN_CLOSE_INBOUND).
    expect(text).toMatch(/^ +afterDrain +notify \(stage 0\), envoy \(stage 900\)$/m);
    expect(text).toMatch(/NOTIFY_URL +"https:\/\/hooks\.example\.com\/orders\/drained" +file +notify/);
  });

  it('is found without --config when the helper runs in its folder, as in the image', async () => {
    const { code, lines } = await runHelper(['plan'], { cwd: import.meta.dirname });
    expect(code).toBe(0);
    expect(lines[0]?.msg).toBe(`task-helper plan: ${CONFIG}`);
  });
});
