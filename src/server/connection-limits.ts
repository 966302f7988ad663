/** Counts open connections in total and per remote address (limits.maxConnections, maxConnectionsPerAddress). */
export class ConnectionLimiter {
  readonly #perAddress = new Map<string, number>();
  #total = 0;

  constructor(private readonly limits: { maxConnections: number; maxConnectionsPerAddress: number }) {}

  get total(): number {
    return this.#total;
  }

  /** Take a slot for `address`; false when either limit is reached (nothing is taken then). */
  acquire(address: string | undefined): boolean {
    const key = address ?? '';
    const mine = this.#perAddress.get(key) ?? 0;
    if (this.#total >= this.limits.maxConnections || mine >= this.limits.maxConnectionsPerAddress)
      return false;
    this.#total++;
    this.#perAddress.set(key, mine + 1);
    return true;
  }

  /** Give back a slot taken by acquire(). */
  release(address: string | undefined): void {
    const key = address ?? '';
    const mine = this.#perAddress.get(key);
    if (mine === undefined) return;
    this.#total--;
    if (mine <= 1) this.#perAddress.delete(key);
    else this.#perAddress.set(key, mine - 1);
  }
}
