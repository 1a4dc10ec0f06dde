import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AbortReason, Deadline } from '../src/deadline.ts';

describe('Deadline', () => {
  beforeEach(() => void vi.useFakeTimers({ now: 1_000 }));
  afterEach(() => void vi.useRealTimers());

  it('fires at its instant with its reason, and not when cancelled', async () => {
    const due = Deadline.after(500, AbortReason.stopBudget);
    const cancelled = Deadline.after(500, AbortReason.tapTimeout);
    cancelled.cancel();
    expect(due.at).toBe(1_500);
    await vi.advanceTimersByTimeAsync(499);
    expect(due.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(due.signal.reason).toBe(AbortReason.stopBudget);
    expect(cancelled.signal.aborted).toBe(false);
  });

  it('composes as the earliest of several: its instant and the reason of the first to fire', async () => {
    const ended = new AbortController();
    const earliest = Deadline.after(2_000, AbortReason.stopBudget).earliest(
      Deadline.after(300, AbortReason.tapTimeout),
      Deadline.of(ended.signal),
      undefined,
    );
    expect(earliest.at).toBe(1_300);
    await vi.advanceTimersByTimeAsync(300);
    expect(earliest.signal.reason).toBe(AbortReason.tapTimeout);
  });

  it('made from an abort has no instant and fires with the abort', () => {
    const ended = new AbortController();
    const deadline = Deadline.at(Infinity, AbortReason.stopBudget).earliest(Deadline.of(ended.signal));
    expect(deadline.at).toBe(Infinity);
    ended.abort(AbortReason.hookFinished);
    expect(deadline.signal.reason).toBe(AbortReason.hookFinished);
  });
});
