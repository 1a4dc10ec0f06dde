import { compileRe2 } from './re2.ts';
import type { StatSample } from './stats.ts';

export interface StatsPage {
  status: number;
  body: string;
  json: boolean;
}

/**
 * /stats: `?format=json`, `?filter=<RE2 regex>` (searched anywhere in the name, like RE2's partial
 * match) and `?usedonly` (stats never written are left out; one that went back to 0 stays).
 * The sim records no histograms, so JSON never has Envoy's `{"histograms": …}` element (Envoy
 * too leaves it out when no histogram matches the filter).
 */
export function renderStats(samples: StatSample[], params: URLSearchParams): StatsPage {
  const format = params.get('format') ?? 'text';
  if (format !== 'text' && format !== 'json') {
    return { status: 400, body: `usage: /stats?format=(json|text)\n`, json: false };
  }
  let filter: RegExp | undefined;
  const pattern = params.get('filter');
  if (pattern) {
    const compiled = compileRe2(pattern);
    if (!(compiled instanceof RegExp))
      return { status: 400, body: `Invalid re2 regex: ${compiled.error}`, json: false };
    filter = compiled;
  }
  const usedOnly = params.has('usedonly');
  const shown = samples.filter((s) => (!usedOnly || s.used) && (!filter || filter.test(s.name)));

  if (format === 'text') {
    return { status: 200, body: shown.map((s) => `${s.name}: ${s.value}\n`).join(''), json: false };
  }
  const stats = shown.map(({ name, value }) => ({ name, value }));
  return { status: 200, body: JSON.stringify({ stats }), json: true };
}
