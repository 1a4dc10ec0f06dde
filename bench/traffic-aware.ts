// The traffic-aware drain behind HAProxy health-checking every 500 ms, on a given Envoy (the
// simulator's 1.29 stat set by default: no health_check.* counters), as one row of the drain
// table: its columns, with the stop after /healthcheck/fail against the goal (≤ 1.75 × HAProxy's
// detection limit, inter × fall) in the settings cell. Never asserts.
import { defaultHealthCheck, detectionLimitMs } from '../test/support/haproxy.ts';
import { summarizeLoad } from '../test/support/load.ts';
import { runTrafficDrain, type EnvoyKind } from '../test/support/traffic-drain.ts';
import { spread } from './stats.ts';

const detectionMs = detectionLimitMs(defaultHealthCheck);
const goalMs = 1.75 * detectionMs;
const secs = (ms: number) => (ms / 1000).toFixed(2);

export async function trafficAwareRow(
  runs: number,
  kind: EnvoyKind = { real: false, statSet: '1.29' },
): Promise<string> {
  const env = {
    DRAIN_DELAY: '0',
    DRAIN_TIMEOUT: '20',
    DRAIN_MIN: String(detectionMs / 1000),
    DRAIN_QUIET_PERIOD: String(defaultHealthCheck.interMs / 2 / 1000),
  };
  const name = kind.real
    ? 'traffic-aware drain, real Envoy 1.40'
    : `traffic-aware drain, envoy-sim ${kind.statSet} stat set`;
  const stops: number[] = [];
  const afterFail: number[] = [];
  const failures: number[] = [];
  let errored = 0;
  let early = 0;
  for (let run = 1; run <= runs; run += 1) {
    try {
      const result = await runTrafficDrain(kind, env);
      stops.push(result.stopMs);
      afterFail.push(result.stopAfterFailMs);
      failures.push(result.failures.length);
      if (result.endedBy === 'traffic stopped') early += 1;
      process.stderr.write(
        `run ${run} ${name}: stop ${result.stopMs} ms (${result.stopAfterFailMs} ms after /healthcheck/fail, ${String(result.endedBy)}), ${result.failures.length} failed; ${summarizeLoad(result.load)}\n`,
      );
    } catch (error) {
      errored += 1;
      process.stderr.write(
        `run ${run} ${name}: ERROR ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`,
      );
    }
  }
  const met =
    errored === 0 &&
    early === runs &&
    failures.every((n) => n === 0) &&
    afterFail.length > 0 &&
    Math.max(...afterFail) <= goalMs;
  const settings =
    `${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}; HAProxy checks every ${defaultHealthCheck.interMs} ms all through; ` +
    `ended by "traffic stopped" in ${early}/${runs}; stop after /healthcheck/fail ${spread(afterFail, secs)} s, goal ≤ ${secs(goalMs)} s: ${met ? 'MET' : 'NOT MET'}`;
  const envoy = kind.real ? 'Envoy 1.40' : `envoy-sim, ${kind.statSet} stat set`;
  return `| traffic-aware drain, short quiet period | ${envoy} | ${settings} | ${spread(stops, secs)} | ${spread(failures, String)} | ${secs(detectionMs)} | ${errored} |`;
}
