/**
 * A map that keeps its most recently used entries while their weights add up to at most
 * `maxWeight` (the least recently used go first; an entry heavier than the bound is not kept).
 * The stores keep per-Maildir parses and listings in one, weighed by their messages.
 */
export class WeighedLru<K, V> {
  readonly #items = new Map<K, { value: V; weight: number }>();
  #weight = 0;

  constructor(readonly maxWeight: number) {}

  /** The value for `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    const item = this.#items.get(key);
    if (item === undefined) return undefined;
    this.#items.delete(key);
    this.#items.set(key, item);
    return item.value;
  }

  set(key: K, value: V, weight: number): void {
    this.delete(key);
    if (weight > this.maxWeight) return;
    this.#items.set(key, { value, weight });
    this.#weight += weight;
    for (const [oldest, item] of this.#items) {
      if (this.#weight <= this.maxWeight) break;
      this.#items.delete(oldest);
      this.#weight -= item.weight;
    }
  }

  delete(key: K): void {
    const item = this.#items.get(key);
    if (item === undefined) return;
    this.#items.delete(key);
    this.#weight -= item.weight;
  }
}
