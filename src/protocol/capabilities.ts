import { Pop3Error } from './errors.js';

/** Most CAPA lines we keep; more is hostile (CONFORMANCE client case 21). */
export const MAX_CAPA_LINES = 200;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The server's capabilities (RFC 2449 §5), from CAPA's lines. Names are upper-cased;
 * arguments keep their case. Unknown capabilities are kept but mean nothing to us.
 */
export class Capabilities {
  private readonly map = new Map<string, string[]>();

  constructor(lines: readonly string[] = []) {
    if (lines.length > MAX_CAPA_LINES) {
      throw new Pop3Error(`CAPA listed more than ${MAX_CAPA_LINES} capabilities`, { code: 'ELIMIT' });
    }
    for (const line of lines) {
      const [name, ...args] = line.trim().split(/ +/);
      if (!name || !NAME.test(name)) continue; // junk lines are ignored, not trusted
      this.map.set(name.toUpperCase(), args);
    }
  }

  /** An empty set: what a server that answered CAPA with -ERR supports. */
  static none(): Capabilities {
    return new Capabilities();
  }

  has(name: string): boolean {
    return this.map.has(name.toUpperCase());
  }

  /** Arguments of a capability, or undefined when absent. */
  args(name: string): readonly string[] | undefined {
    return this.map.get(name.toUpperCase());
  }

  get names(): string[] {
    return [...this.map.keys()];
  }

  /** SASL mechanisms offered, upper-cased. */
  get sasl(): string[] {
    return (this.map.get('SASL') ?? [])
      .map((m) => m.toUpperCase())
      .filter((m) => /^[A-Z0-9_-]{1,20}$/.test(m));
  }

  get pipelining(): boolean {
    return this.has('PIPELINING');
  }

  get stls(): boolean {
    return this.has('STLS');
  }

  /** Response codes may be parsed (RFC 2449 §8; AUTH-RESP-CODE: RFC 3206 §6). */
  get responseCodes(): boolean {
    return this.has('RESP-CODES') || this.has('AUTH-RESP-CODE');
  }

  /** LOGIN-DELAY in seconds, when advertised as a number (RFC 2449 §6.5). */
  get loginDelay(): number | undefined {
    const v = this.map.get('LOGIN-DELAY')?.[0];
    return v !== undefined && /^\d{1,9}$/.test(v) ? Number(v) : undefined;
  }

  /** EXPIRE in days, `'NEVER'`, or undefined (RFC 2449 §6.7). */
  get expire(): number | 'NEVER' | undefined {
    const v = this.map.get('EXPIRE')?.[0];
    if (v === undefined) return undefined;
    if (v.toUpperCase() === 'NEVER') return 'NEVER';
    return /^\d{1,9}$/.test(v) ? Number(v) : undefined;
  }

  get implementation(): string | undefined {
    return this.map.get('IMPLEMENTATION')?.join(' ');
  }

  toJSON(): Record<string, string[]> {
    return Object.fromEntries(this.map);
  }
}
