// The statistic every benchmark reports: robust to the odd slow run on a
// shared machine.

/** The median of `xs` (the upper one of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
