export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `median (min–max)`, or n/a for no values. */
export const spread = (values: number[], format: (n: number) => string): string =>
  values.length === 0
    ? 'n/a'
    : `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`;
