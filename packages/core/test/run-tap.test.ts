import { describe, expect, it } from 'vitest';
import { AbortReason } from '../src/deadline.ts';
import { tapOutcome, type TapEnding } from '../src/run-tap.ts';

const base = { aborted: false, drainAction: false, timeoutMs: 10_000 } as const;
const abortError = (reason: Error) =>
  Object.assign(new Error('This operation was aborted'), { name: 'AbortError', cause: reason });

// The rows of docs/architecture.md, "Isolation of taps": what the tap did → its step.
const table: Array<[string, TapEnding, { outcome: string; error?: string }]> = [
  ['returns in time', { ...base, ended: 'returned' }, { outcome: 'ok' }],
  [
    'returns after its abortSignal fired for the stop budget',
    { ...base, ended: 'returned', aborted: true, reason: AbortReason.stopBudget },
    { outcome: 'cut' },
  ],
  [
    'returns after its abortSignal fired for START_TIMEOUT',
    { ...base, ended: 'returned', aborted: true, reason: AbortReason.startTimeout },
    { outcome: 'cut' },
  ],
  [
    'returns after its abortSignal fired for a stop signal',
    { ...base, ended: 'returned', aborted: true, reason: AbortReason.stopSignal },
    { outcome: 'cut' },
  ],
  [
    'rejects with the abort itself after the stop budget fired',
    { ...base, ended: 'threw', error: AbortReason.stopBudget, aborted: true, reason: AbortReason.stopBudget },
    { outcome: 'cut', error: 'aborted: stop budget' },
  ],
  [
    'rejects with an AbortError after the drain action came due',
    {
      ...base,
      ended: 'threw',
      error: abortError(AbortReason.drainActionDue),
      aborted: true,
      reason: AbortReason.drainActionDue,
    },
    { outcome: 'cut', error: 'aborted: drain action due' },
  ],
  [
    'rejects with its own error after the stop budget fired',
    { ...base, ended: 'threw', error: new Error('socket closed\nat …'), aborted: true, reason: AbortReason.stopBudget },
    { outcome: 'cut', error: 'socket closed' },
  ],
  [
    "is the drain's action and returns after the stop budget fired",
    { ...base, drainAction: true, ended: 'returned', aborted: true, reason: AbortReason.stopBudget },
    { outcome: 'failed', error: 'aborted: stop budget' },
  ],
  [
    "is the drain's action and rejects after the stop budget fired",
    {
      ...base,
      drainAction: true,
      ended: 'threw',
      error: AbortReason.stopBudget,
      aborted: true,
      reason: AbortReason.stopBudget,
    },
    { outcome: 'failed', error: 'aborted: stop budget' },
  ],
  [
    'throws for any other reason',
    { ...base, ended: 'threw', error: new Error('boom\nstack') },
    { outcome: 'failed', error: 'boom' },
  ],
  [
    'rejects with the abort after the health timeout fired',
    {
      ...base,
      ended: 'threw',
      error: AbortReason.healthTimeout,
      aborted: true,
      reason: AbortReason.healthTimeout,
    },
    { outcome: 'failed', error: 'aborted: health timeout' },
  ],
  [
    'rejects with the abort after a stop signal during onStart',
    { ...base, ended: 'threw', error: AbortReason.stopSignal, aborted: true, reason: AbortReason.stopSignal },
    { outcome: 'cut' },
  ],
  [
    'returns after its own timeout fired',
    { ...base, ended: 'returned', aborted: true, reason: AbortReason.tapTimeout },
    { outcome: 'timeout', error: 'did not finish within its 10000 ms timeout' },
  ],
  [
    'rejects after its own timeout fired',
    { ...base, ended: 'threw', error: AbortReason.tapTimeout, aborted: true, reason: AbortReason.tapTimeout },
    { outcome: 'timeout', error: 'did not finish within its 10000 ms timeout' },
  ],
  [
    'ignores its abortSignal past the grace after its timeout',
    { ...base, ended: 'abandoned', aborted: true, reason: AbortReason.tapTimeout },
    { outcome: 'timeout', error: 'did not finish within its 10000 ms timeout' },
  ],
  [
    'ignores its abortSignal past the grace after the stop budget fired',
    { ...base, ended: 'abandoned', aborted: true, reason: AbortReason.stopBudget },
    { outcome: 'timeout', error: 'did not stop when asked (stop budget)' },
  ],
];

describe('the outcome of a tap (tapOutcome)', () => {
  it.each(table)('a tap that %s', (_, ending, expected) => {
    expect(tapOutcome(ending)).toEqual(expected);
  });
});
