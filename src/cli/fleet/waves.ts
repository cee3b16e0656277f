/** --batch and --max-errors, turned into numbers for a run over `total` hosts. */

/** Cumulative host counts after each wave: "1,25%,100%" over 20 hosts → [1, 5, 20]. */
export function waveSizes(batch: string | undefined, total: number): number[] {
  if (!batch) return [total];
  const sizes: number[] = [];
  for (const w of batch.split(',')) {
    const n = w.endsWith('%') ? Math.ceil((Number(w.slice(0, -1)) / 100) * total) : Number(w);
    const upTo = Math.min(total, Math.max(n, (sizes.at(-1) ?? 0) + 1));
    if (upTo > (sizes.at(-1) ?? 0)) sizes.push(upTo);
  }
  // A list that stops short (1,25%) still covers every host in a last wave.
  if ((sizes.at(-1) ?? 0) < total) sizes.push(total);
  return sizes;
}

/** How many failed hosts are tolerated before no more are scheduled. */
export function errorBudget(maxErrors: string | undefined, total: number): number {
  if (!maxErrors) return 0;
  return maxErrors.endsWith('%') ? Math.floor((Number(maxErrors.slice(0, -1)) / 100) * total) : Number(maxErrors);
}
