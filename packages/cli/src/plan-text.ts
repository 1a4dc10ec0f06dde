import type { Plan } from './plan.ts';

const WIDTH = 48;
const seconds = (ms: number): string => `${+(ms / 1000).toFixed(3)} s`;

/** The plan for a person: settings with their sources, hooks in run order, and the stop sequence drawn to scale. */
export function planText(plan: Plan): string {
  const { timeline } = plan;
  const column = (ms: number): number =>
    Math.round((Math.min(ms, timeline.stopTimeoutMs) / timeline.stopTimeoutMs) * WIDTH);
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

  // What a tap's label cannot hold: a rule, where its values come from, the permissions it needs.
  for (const [hook, taps] of Object.entries(plan.hooks))
    for (const tap of taps) {
      if (!tap.plan?.details?.length) continue;
      lines.push('', `${tap.plugin} (${hook}): ${tap.plan.label}`, ...tap.plan.details.map((d) => `  - ${d}`));
    }

  lines.push(
    '',
    `Stop sequence, to scale: STOP_TIMEOUT ${seconds(timeline.stopTimeoutMs)} (at least ${seconds(timeline.minStopTimeoutMs)}), one column = ${seconds(timeline.stopTimeoutMs / WIDTH)}`,
  );
  const rows: string[][] = [['signal', bar(0, 0, '▏'), '0 s', 'SIGTERM']];
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
  rows.push(['SIGKILL', `${' '.repeat(WIDTH + 1)}✕`, seconds(timeline.stopTimeoutMs), 'ECS kills the helper']);
  lines.push(...table(rows));
  lines.push(
    '',
    timeline.fits
      ? `fits: the waits end at ${seconds(timeline.waitsEndMs)}, before the stop budget's ${seconds(timeline.abortAtMs)}`
      : `does not fit: the waits would end at ${seconds(timeline.plannedEndMs)}, but the stop budget ends them at ${seconds(timeline.abortAtMs)}; ` +
          `cut as drawn: the drain starts at ${seconds(timeline.delayMs)} and callers get ${seconds(timeline.drainWaitMs)} to notice it; raise STOP_TIMEOUT or shorten the waits`,
  );
  return `${lines.join('\n')}\n`;
}
