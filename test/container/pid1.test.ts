import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerMissing, dockerOk, engine, removeLabelled, TEST_LABEL } from '../support/docker.ts';
import { buildImages, images } from '../support/docker-images.ts';

// The image's PID 1 and an early SIGTERM: the kernel drops a signal that PID 1 has no handler for,
// and Node installs the helper's some 30 ms after start. With tini as PID 1 (the image's
// ENTRYPOINT) the signal reaches Node whenever it comes: before the helper's handler Node dies of
// it at once (143), after it the helper stops as it should (here: nothing listens on the app's
// port, so it skips the waits and exits 0). A lost signal shows as a helper still running.
const missing = dockerMissing();
const run = randomUUID().slice(0, 8);
const LINGER_LIMIT_MS = 20_000;

interface Outcome {
  delayMs: number;
  exitCode: number;
  handled: boolean;
}

describe.skipIf(missing)('PID 1 never loses a SIGTERM', () => {
  const outcomes: Outcome[] = [];
  beforeAll(() => buildImages(), 900_000);
  afterAll(async () => {
    console.log(
      `SIGTERM after start: ${outcomes.map((o) => `${o.delayMs} ms → exit ${o.exitCode}${o.handled ? ' (handled)' : ' (before the handler)'}`).join('; ')}`,
    );
    await removeLabelled(`run=${run}`);
  });

  it.each([0, 5, 20, 50])(
    'SIGTERM %i ms after start: the helper stops at once (143) or handles it, never runs on',
    async (delayMs) => {
      const { Id: id } = await engine<{ Id: string }>('POST', '/containers/create', {
        Image: images.helper,
        Labels: { [TEST_LABEL]: '', run },
        HostConfig: { NetworkMode: 'none' },
      });
      await engine('POST', `/containers/${id}/start`);
      const started = performance.now();
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs - (performance.now() - started)));
      await engine('POST', `/containers/${id}/kill?signal=SIGTERM`);
      const exited = await engine<{ StatusCode: number }>('POST', `/containers/${id}/wait`, undefined, LINGER_LIMIT_MS)
        .then((answer) => answer.StatusCode)
        .catch(() => undefined);
      const logs = await dockerOk(['logs', id]);
      expect(
        exited,
        `still running ${LINGER_LIMIT_MS} ms after SIGTERM: the signal was lost. Logs:\n${logs}`,
      ).toBeDefined();
      const handled = logs.includes('"msg":"stop signal received"');
      outcomes.push({ delayMs, exitCode: exited!, handled });
      // Either Node died of the signal before the helper's handler (143, nothing logged after), or
      // the helper handled it: nothing listens on the app's port, so it skipped the waits and exited 0.
      const outcome = {
        exitCode: exited,
        handled,
        skipped: logs.includes('"msg":"drain skipped"'),
        readyBeforeDying: !handled && logs.includes('"msg":"ready"'),
      };
      expect(
        [
          { exitCode: 143, handled: false, skipped: false, readyBeforeDying: false },
          { exitCode: 0, handled: true, skipped: true, readyBeforeDying: false },
        ],
        logs,
      ).toContainEqual(outcome);
    },
    60_000,
  );
});
