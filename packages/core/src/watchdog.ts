// The stop path's one piece outside the main loop: a worker thread, started at the stop signal,
// that POSTs the drain's fallback (plugin-envoy's /healthcheck/fail) when the action is due and
// the main thread is blocked (a busy loop, an execSync) or has not done it. Nothing runs before
// the signal, so an idle helper pays nothing; while it lives it costs about 20 MB of RSS.
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { StopSchedule } from './stop-schedule.ts';
import type { Hooks, TapExtras } from './types.ts';

/** What the watchdog must POST, and until when it may retry. */
interface WatchdogPlan {
  /** The URL POSTed with an empty body (the drain action tap's `fallback.post`). */
  url: string;
  /** Epoch ms of the stop signal; the points below count from it. */
  signalAt: number;
  actionDueAt: number;
  abortAt: number;
  exitAt: number;
  /** Fields every line of the watchdog carries (the stop logger's bindings: phase, taskArn…). */
  bindings: Record<string, unknown>;
}

/** The watchdog's own POST, as it reports it. */
interface WatchdogPost {
  ok: boolean;
  status?: number;
  error?: string;
}

export interface Watchdog {
  /** The main thread's action succeeded, or none is needed (the drain was skipped): the watchdog ends without a POST. */
  actionDone(): void;
  /** POST now, whatever the main thread is doing, logging `why` (a config still loading when the action is due). */
  postNow(why: string): Promise<WatchdogPost>;
  /** The stop is over: the watchdog ends. */
  over(): void;
}

const watchdogDefaults = Object.freeze({
  /** The main thread beats this often while the stop runs… */
  beatMs: 100,
  /** …and counts as blocked once it has not for this long. */
  blockedMs: 500,
});

// The state shared with the worker, one Int32 each.
const ACTION = 0; // 0 pending, 1 done by the main thread (or not needed), 2 post now
const OVER = 1; // 1 once the stop is over
const BEAT = 2; // ms from the signal at the main thread's last beat

// CommonJS, run with `eval`: no file to find in the bundle, and only node:net, fs and os load.
const WORKER = `
const { workerData: d, parentPort, receiveMessageOnPort } = require('node:worker_threads');
const net = require('node:net');
const { writeSync } = require('node:fs');
const { hostname } = require('node:os');
const state = new Int32Array(d.state);
const ACTION = ${ACTION}, OVER = ${OVER}, BEAT = ${BEAT};
const log = (level, msg, fields) => {
  const line = { level, time: Date.now(), pid: process.pid, hostname: hostname(), ...d.bindings, ...fields, msg };
  try { writeSync(1, JSON.stringify(line) + '\\n'); } catch {}
};
const attempt = (url, ms) => new Promise((resolve) => {
  const socket = net.connect(Number(url.port || 80), url.hostname.replace(/^\\[|\\]$/g, ''));
  let head = '';
  const done = (answer) => { clearTimeout(timer); socket.destroy(); resolve(answer); };
  const timer = setTimeout(() => done({ ok: false, error: 'no answer in time' }), ms);
  socket.setEncoding('latin1');
  socket.on('connect', () => socket.write('POST ' + url.pathname + url.search + ' HTTP/1.1\\r\\nHost: ' + url.host + '\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n'));
  socket.on('data', (chunk) => {
    head += chunk;
    const status = /^HTTP\\/1\\.[01] (\\d{3})/.exec(head);
    if (status) done({ ok: status[1][0] === '2', status: Number(status[1]) });
    else if (head.includes('\\r\\n') || head.length > 64) done({ ok: false, error: 'not an HTTP answer' });
  });
  socket.on('error', (error) => done({ ok: false, error: error.code || error.message }));
  socket.on('end', () => done({ ok: false, error: 'closed before the status line' }));
});
const post = async () => {
  const url = new URL(d.url);
  let answer;
  for (let backoff = 100; ; backoff = Math.min(backoff * 2, 1000)) {
    answer = await attempt(url, Math.max(1, d.abortAt - Date.now()));
    const final = answer.ok || answer.status === 404 || answer.status === 405;
    if (final || Date.now() + backoff >= d.abortAt) return answer;
    await new Promise((wake) => setTimeout(wake, backoff));
  }
};
// Sleeps until state[index] leaves 0 or until the epoch ms given; true if it left 0.
const waitFor = (index, until) => {
  for (;;) {
    if (Atomics.load(state, index) !== 0) return true;
    const ms = until - Date.now();
    if (ms <= 0) return false;
    Atomics.wait(state, index, 0, ms);
  }
};
(async () => {
  waitFor(ACTION, d.actionDueAt);
  for (;;) {
    const action = Atomics.load(state, ACTION);
    // Done by the main thread: the thread ends, and its memory goes back before DRAIN_TIMEOUT's reads.
    if (action === 1 || Atomics.load(state, OVER) === 1) return;
    const lastBeat = d.signalAt + Atomics.load(state, BEAT);
    const blocked = Date.now() - lastBeat >= d.blockedMs;
    if (action === 2 || blocked) {
      const started = Date.now();
      const answer = await post();
      const why = action === 2 ? receiveMessageOnPort(parentPort)?.message ?? 'asked by the main thread' : 'the main thread was blocked';
      const fields = { adminUrl: new URL(d.url).origin, sinceSignalMs: started - d.signalAt, ms: Date.now() - started, ...(answer.status ? { status: answer.status } : {}), ...(answer.error ? { error: answer.error } : {}) };
      if (answer.ok) log('warn', 'watchdog posted the health check fail: ' + why, fields);
      else log('error', 'watchdog could not post the health check fail: ' + why, fields);
      parentPort.postMessage(answer);
      break;
    }
    if (Date.now() >= d.abortAt) break;
    Atomics.wait(state, ACTION, action, 50);
  }
  if (!waitFor(OVER, d.exitAt))
    log('error', 'watchdog: the main thread is still blocked at the exit point; SIGKILL will end the helper', { sinceSignalMs: Date.now() - d.signalAt });
})();
`;

/**
 * Starts the watchdog (a worker thread, unref'd: it never keeps the process alive) and the main
 * thread's beat it watches. From `actionDueAt` to `abortAt` it POSTs `url` once when the main
 * thread has not reported its action done and has not beaten for `blockedMs`, or when asked.
 */
function startWatchdog(plan: WatchdogPlan): Watchdog {
  const { Worker: WorkerThread } = process.getBuiltinModule('node:worker_threads');
  const state = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  const beat = (): void => void Atomics.store(state, BEAT, Date.now() - plan.signalAt);
  beat();
  const beating = setInterval(beat, watchdogDefaults.beatMs);
  beating.unref();
  const worker: Worker = new WorkerThread(WORKER, {
    eval: true,
    workerData: { ...plan, blockedMs: watchdogDefaults.blockedMs, state: state.buffer },
    stdout: false,
    stderr: false,
  });
  worker.unref();
  // A worker that cannot start (out of memory, say) must not end the stop with an uncaught error.
  worker.on('error', () => undefined);
  const posted = new Promise<WatchdogPost>((resolve) => {
    worker.once('message', resolve);
    worker.once('exit', () => resolve({ ok: false, error: 'the watchdog ended without posting' }));
  });
  const set = (index: number, value: number): void => {
    Atomics.store(state, index, value);
    Atomics.notify(state, index);
  };
  return {
    actionDone: () => set(ACTION, 1),
    postNow(why) {
      if (Atomics.load(state, ACTION) !== 0) return posted;
      worker.postMessage(why);
      set(ACTION, 2);
      return posted;
    },
    over() {
      clearInterval(beating);
      set(OVER, 1);
    },
  };
}

/** The watchdog for a stop: the drain action's declared fallback, at the schedule's points from `signalAt`; none without one. */
export function watchStop(
  hooks: Hooks,
  schedule: StopSchedule,
  signalAt: number,
  logger: Logger,
): Watchdog | undefined {
  const fallback = (hooks.drain.taps as TapExtras[]).find((tap) => tap.drainAction)?.fallback;
  if (!fallback) return undefined;
  return startWatchdog({
    url: fallback.post,
    signalAt,
    actionDueAt: signalAt + schedule.actionDueMs,
    abortAt: signalAt + schedule.abortAtMs,
    exitAt: signalAt + schedule.exitAtMs,
    bindings: logger.bindings(),
  });
}
