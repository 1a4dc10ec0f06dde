import type { SettingRecord } from './settings.ts';

/** Set for Envoy's official image (its entrypoint reads them), so often copied next to the helper: not ours, not typos. */
const ENVOY_IMAGE_VARIABLES = new Set(['ENVOY_UID', 'ENVOY_GID', 'ENVOY_LOG_LEVEL']);
/** Our prefixes: an unknown name under them is a typo or a setting that does not exist. */
const OURS = /^(DRAIN|ENVOY)_/;
/** Elsewhere, a name this close to one of ours (and long enough not to match by chance) is a typo too. */
const MAX_TYPO_DISTANCE = 2;
const MIN_TYPO_LENGTH = 8;

/** An environment variable that looks like a setting but is not one anything reads. */
export interface StrayVariable {
  name: string;
  /** The known variable nearest to it by edit distance. */
  closest: string | undefined;
}

/** The variables of `env` that look like ours but that neither core nor any plugin read (`settings` lists what they did). */
export function strayVariables(env: NodeJS.ProcessEnv, settings: readonly SettingRecord[]): StrayVariable[] {
  const known = [...new Set(settings.flatMap((s) => (s.env === undefined ? [] : [s.env])))];
  return Object.keys(env)
    .filter((name) => !known.includes(name) && !ENVOY_IMAGE_VARIABLES.has(name))
    .flatMap((name) => {
      const ours = OURS.test(name);
      // Most of a task's environment (AWS_*, ECS_*, HOSTNAME…) is ruled out before any distance is computed.
      const candidates = ours
        ? known
        : name.length < MIN_TYPO_LENGTH
          ? []
          : known.filter((k) => Math.abs(k.length - name.length) <= MAX_TYPO_DISTANCE && sharesAPiece(name, k));
      let closest: string | undefined;
      let best = Infinity;
      for (const candidate of candidates) {
        const distance = editDistance(name, candidate);
        if (distance < best) [closest, best] = [candidate, distance];
      }
      return ours || best <= MAX_TYPO_DISTANCE ? [{ name, closest }] : [];
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * False only when `name` cannot be within MAX_TYPO_DISTANCE edits of `known`: cut `known` into one
 * piece more than the edits allowed, and an edit spoils at most one piece, so a near miss contains
 * one piece whole. A native substring search, so that a task's environment of long AWS_* and ECS_*
 * names costs a few distances at start, not thousands of loop turns that V8 compiles with its
 * optimizing tiers, 5 MB of idle memory (bench/footprint.ts).
 */
function sharesAPiece(name: string, known: string): boolean {
  const pieces = MAX_TYPO_DISTANCE + 1;
  for (let i = 0; i < pieces; i += 1) {
    const piece = known.slice(Math.floor((i * known.length) / pieces), Math.floor(((i + 1) * known.length) / pieces));
    if (name.includes(piece)) return true;
  }
  return false;
}

/** Levenshtein distance, one row at a time: the names are a few dozen characters. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= b.length; j += 1) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
