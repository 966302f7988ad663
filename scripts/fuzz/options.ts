/**
 * A fuzzer's integer option: `fallback` when absent, else a non-negative integer of at most ten
 * digits; anything else exits with status 2 and a message naming the fuzzer (`prog`) and the flag.
 */
export function intOption(prog: string, name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d{1,10}$/.test(raw)) {
    console.error(`${prog}: --${name} wants a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return Number(raw);
}
