import type { Plan } from './plan.ts';

const WIDTH = 48;
const seconds = (ms: number): string => `${+(ms / 1000).toFixed(3)} s`;

/** The plan for a person: settings with their sources, hooks in run order, and the stop sequence drawn to scale. */
export function planText(plan: Plan): string {
  const { timeline, kubernetes } = plan;
  // Drawn to the whole budget: on Kubernetes the pod's grace period, of which the helper's is a part.
  const spanMs = kubernetes?.gracePeriodMs ?? timeline.stopTimeoutMs;
  const column = (ms: number): number => Math.round((Math.min(ms, spanMs) / spanMs) * WIDTH);
  // WIDTH columns between two borders; anything, however short, takes at least one column.
  const bar = (startMs: number, endMs: number, fill: string): string => {
    const from = Math.min(column(startMs), WIDTH - 1);
    const to = Math.max(from + 1, column(endMs));
    return `${`|${' '.repeat(from)}${fill.repeat(to - from)}`.padEnd(WIDTH + 1)}|`;
  };
  const table = (rows: string[][]): string[] => {
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    return rows.map((row) => `  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd());
  };

  const { task } = plan;
  const lines = [
    `task-helper plan: ${plan.config ?? 'no config file, the built-in plugins'}`,
    task
      ? `ECS task: ${task.taskArn} in ${task.cluster}, ${task.taskDefinition}, container ${task.containerName}, ${task.privateIpv4 ?? 'no private IPv4'}${task.launchType ? `, ${task.launchType}` : ''}`
      : 'ECS task: none (ECS_CONTAINER_METADATA_URI_V4 unset or unreadable)',
    '',
    'Settings',
  ];
  lines.push(
    ...table([
      ['setting', 'value', 'source', 'plugin'],
      ...plan.settings.map((s) => [
        s.env ?? s.option ?? '?',
        JSON.stringify(s.value) ?? 'unset',
        s.source,
        s.plugin ?? 'core',
      ]),
    ]),
  );
  if (plan.unknownEnv.length > 0) {
    lines.push('', 'Environment variables nothing reads (typos?)');
    lines.push(
      ...table(
        plan.unknownEnv.map(({ name, closest }) => [name, closest === undefined ? '' : `did you mean ${closest}?`]),
      ),
    );
  }
  lines.push('', 'Hooks, in the order their taps run');
  lines.push(
    ...table(
      Object.entries(plan.hooks).map(([hook, taps]) => [
        hook,
        taps.map((t) => `${t.plugin} (stage ${t.stage})`).join(', ') || '(none)',
      ]),
    ),
  );

  lines.push(
    '',
    kubernetes
      ? `Stop sequence, to scale: from the preStop call; STOP_TIMEOUT ${seconds(spanMs)} (terminationGracePeriodSeconds, at least ${seconds(timeline.minStopTimeoutMs + spanMs - timeline.stopTimeoutMs)}), of which the helper's budget is ${seconds(timeline.stopTimeoutMs)}, one column = ${seconds(spanMs / WIDTH)}`
      : `Stop sequence, to scale: STOP_TIMEOUT ${seconds(timeline.stopTimeoutMs)} (at least ${seconds(timeline.minStopTimeoutMs)}), one column = ${seconds(timeline.stopTimeoutMs / WIDTH)}`,
  );
  const rows: string[][] = [
    kubernetes
      ? ['preStop', bar(0, 0, '▏'), '0 s', "the kubelet calls GET /prestop (the held container's preStop hook)"]
      : ['signal', bar(0, 0, '▏'), '0 s', 'SIGTERM'],
  ];
  for (const entry of timeline.entries) {
    const when =
      entry.endMs > entry.startMs ? `${seconds(entry.startMs)}–${seconds(entry.endMs)}` : seconds(entry.startMs);
    const drawn =
      entry.endMs > entry.startMs ? bar(entry.startMs, entry.endMs, '█') : bar(entry.startMs, entry.startMs, '▏');
    rows.push([
      entry.plugin,
      drawn,
      when,
      `${entry.hook}: ${entry.label}${entry.cut ? ' (cut by the stop budget)' : ''}`,
    ]);
  }
  rows.push([
    'due',
    bar(timeline.actionDueMs, timeline.actionDueMs, '▏'),
    seconds(timeline.actionDueMs),
    "the drain's action starts by here: what runs before it is cut",
  ]);
  rows.push([
    'budget',
    bar(timeline.abortAtMs, timeline.stopTimeoutMs, '░'),
    `${seconds(timeline.abortAtMs)}–${seconds(timeline.stopTimeoutMs)}`,
    `waits end at ${seconds(timeline.abortAtMs)}: the rest is kept for afterDrain`,
  ]);
  if (kubernetes) {
    rows.push([
      'answer',
      bar(kubernetes.answerByMs, kubernetes.answerByMs, '▏'),
      seconds(kubernetes.answerByMs),
      'the hook is answered by here: the kubelet sends the held container SIGTERM',
    ]);
    rows.push([
      'SIGKILL',
      `${' '.repeat(WIDTH + 1)}✕`,
      seconds(kubernetes.heldKillByMs),
      "the held container's, at the latest: what the hook left of the grace period (whole seconds), at least 2 s; then the sidecars, the helper before Envoy, at least 2 s each",
    ]);
  } else rows.push(['SIGKILL', `${' '.repeat(WIDTH + 1)}✕`, seconds(timeline.stopTimeoutMs), 'ECS kills the helper']);
  lines.push(...table(rows));
  if (kubernetes)
    lines.push(
      '',
      `A stop signal with no preStop call before it (a native sidecar's SIGTERM, after the app has exited) gets the kubelet's ${seconds(kubernetes.signalFirst.stopTimeoutMs)}: the drain's action is due at ${seconds(kubernetes.signalFirst.actionDueMs)}, the exit at ${seconds(kubernetes.signalFirst.exitAtMs)}`,
    );
  lines.push(
    '',
    timeline.fits
      ? `fits: the waits end at ${seconds(timeline.waitsEndMs)}, before the stop budget's ${seconds(timeline.abortAtMs)}`
      : `does not fit: the waits would end at ${seconds(timeline.plannedEndMs)}, but the stop budget ends them at ${seconds(timeline.abortAtMs)}; ` +
          `cut as drawn: the drain starts at ${seconds(timeline.delayMs)} and callers get ${seconds(timeline.drainWaitMs)} to notice it; raise STOP_TIMEOUT${kubernetes ? ' and terminationGracePeriodSeconds' : ''} or shorten the waits`,
  );
  return `${lines.join('\n')}\n`;
}
