import type { StatSample } from './stats.ts';

export interface StatsPage {
  status: number;
  body: string;
  json: boolean;
}

/** Envoy's percentiles; the sim records no histograms, so only the list of quantiles is rendered. */
const SUPPORTED_QUANTILES = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100];

/**
 * /stats: `?format=json`, `?filter=<regex>` (searched anywhere in the name, like RE2's partial
 * match) and `?usedonly` (stats never written are left out; one that went back to 0 stays).
 */
export function renderStats(samples: StatSample[], params: URLSearchParams): StatsPage {
  const format = params.get('format') ?? 'text';
  if (format !== 'text' && format !== 'json') {
    return { status: 400, body: `usage: /stats?format=(json|text)\n`, json: false };
  }
  let filter: RegExp | undefined;
  const pattern = params.get('filter');
  if (pattern) {
    try {
      filter = new RegExp(pattern);
    } catch {
      return { status: 400, body: 'Invalid re2 regex', json: false };
    }
  }
  const usedOnly = params.has('usedonly');
  const shown = samples.filter((s) => (!usedOnly || s.used) && (!filter || filter.test(s.name)));

  if (format === 'text') {
    return { status: 200, body: shown.map((s) => `${s.name}: ${s.value}\n`).join(''), json: false };
  }
  const stats: object[] = shown.map(({ name, value }) => ({ name, value }));
  stats.push({ histograms: { supported_quantiles: SUPPORTED_QUANTILES, computed_quantiles: [] } });
  return { status: 200, body: JSON.stringify({ stats }), json: true };
}
