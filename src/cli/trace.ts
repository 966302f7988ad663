// --trace: the dialogue as `C:` / `S:` lines with times, TLS details as `*` lines. Secrets are
// already `***` in the client's events. Message bodies are summarised (octets, lines) unless
// --trace-body, which shows the body of a RETR/TOP whose reader the command taps.

import { Transform, type TransformCallback } from 'node:stream';
import type { TraceEvent } from '../client/options.js';
import { printable } from '../protocol/errors.js';

export interface TracerOptions {
  write: (text: string) => void;
  /** Show message bodies (only those tapped with expectBody()). */
  showBody?: boolean;
  /** Prefix lines with the wall-clock time (HH:MM:SS.mmm). Default true. */
  times?: boolean;
  /** Show `C:` lines. Default true. */
  client?: boolean;
  /** Write `S: ` / `C: ` prefixes. Default true; the shell shows server lines bare. */
  prefixes?: boolean;
  /** Show `*` lines (TLS, close). Default true. */
  notes?: boolean;
  /** Put before every line, e.g. `[work] ` when several accounts are traced at once. */
  label?: string;
}

/** Shown body bytes per message; the rest is summarised, so --trace-body stays bounded. */
const MAX_SHOWN_BODY = 1024 * 1024;

function clock(at: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(at.getHours())}:${p(at.getMinutes())}:${p(at.getSeconds())}.${p(at.getMilliseconds(), 3)}`;
}

/**
 * A body being shown: it collects the lines its reader consumes; the trace holds every later
 * line until the body is complete, so the output keeps the wire's order.
 */
export class BodySlot {
  readonly lines: string[] = [];
  shown = 0;
  octets = 0;
  done = false;
  bound = false;
  /** When the body was complete on the wire (its lines are shown with this time). */
  at: Date | undefined;
  private partial = '';

  constructor(private readonly onDone: (slot: BodySlot) => void) {}

  /** Wrap the body stream; read the returned stream instead of the original. */
  tap(body: NodeJS.ReadableStream): Transform {
    const slot = this;
    const t = new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
        slot.record(chunk);
        cb(null, chunk);
      },
      flush(cb: TransformCallback) {
        cb();
      },
    });
    body.on('error', (err) => t.destroy(err));
    t.on('close', () => {
      if (
        !(body as { destroyed?: boolean }).destroyed &&
        !(body as { readableEnded?: boolean }).readableEnded
      ) {
        (body as { destroy?: () => void }).destroy?.();
      }
      this.finish();
    });
    body.pipe(t);
    return t;
  }

  /** The command failed (-ERR): no body will come. */
  cancel(): void {
    this.finish();
  }

  private record(chunk: Buffer): void {
    this.octets += chunk.length;
    if (this.shown >= MAX_SHOWN_BODY) return;
    const room = MAX_SHOWN_BODY - this.shown;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.shown += part.length;
    const text = this.partial + part.toString('utf8');
    const pieces = text.split('\n');
    this.partial = pieces.pop() ?? '';
    for (const line of pieces) this.lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.partial) this.lines.push(this.partial);
    this.partial = '';
    this.onDone(this);
  }
}

export class Tracer {
  private slot: BodySlot | undefined;
  /** Lines waiting for a bound body slot to complete. */
  private held: string[] | undefined;
  private readonly opts: Required<TracerOptions>;
  private enabled = true;

  constructor(opts: TracerOptions) {
    this.opts = {
      showBody: false,
      times: true,
      client: true,
      prefixes: true,
      notes: true,
      label: '',
      ...opts,
    };
  }

  /** Pass to Pop3Client.connect({ onTrace }). */
  readonly onTrace = (event: TraceEvent): void => {
    if (!this.enabled) return;
    if (event.dir === 'C' && !this.opts.client) return;
    if (event.dir === '*' && !this.opts.notes) return;
    if (event.body) {
      const slot = this.slot;
      if (slot && !slot.bound) {
        slot.bound = true;
        slot.at = event.at;
        this.held ??= [];
        if (slot.done) this.release(slot);
        this.line(event.dir, event.line, event.at);
        return;
      }
      this.line('S', `<message body: ${event.body.octets} octets, ${event.body.lines} lines>`, event.at);
    }
    this.line(event.dir, event.line, event.at);
  };

  /** Stop or resume showing events (the shell shows only what follows the login). */
  setEnabled(on: boolean): void {
    this.enabled = on;
  }

  /** A line of our own, shown as a `*` note. */
  note(text: string): void {
    if (this.opts.notes) this.line('*', text, new Date());
  }

  /**
   * Before sending a RETR/TOP whose body the command will read: with --trace-body, returns a
   * slot to tap the body with. One at a time: a second body command while one is pending gets
   * no slot and its body is summarised.
   */
  expectBody(): BodySlot | undefined {
    if (!this.opts.showBody || this.slot) return undefined;
    this.slot = new BodySlot((s) => this.release(s));
    return this.slot;
  }

  /** Write out anything still held (at exit, whatever state a body is in). */
  flush(): void {
    const held = this.held;
    this.held = undefined;
    this.slot = undefined;
    if (held) for (const l of held) this.opts.write(l);
  }

  private release(slot: BodySlot): void {
    if (slot !== this.slot) return;
    if (!slot.bound) {
      // Cancelled before any body arrived (the command failed).
      if (!slot.lines.length) this.slot = undefined;
      return;
    }
    const held = this.held ?? [];
    this.held = undefined;
    this.slot = undefined;
    const now = slot.at ?? new Date();
    for (const l of slot.lines) {
      // As on the wire: a line starting with '.' is dot-stuffed.
      this.line('S', printable(l.startsWith('.') ? `.${l}` : l, 2000), now);
    }
    if (slot.octets > slot.shown) {
      this.line('S', `<… ${slot.octets - slot.shown} more octets not shown>`, now);
    }
    for (const l of held) this.opts.write(l);
  }

  private line(dir: TraceEvent['dir'], text: string, at: Date): void {
    const time = this.opts.times ? `${clock(at)} ` : '';
    const prefix = this.opts.prefixes ? (dir === '*' ? '*  ' : `${dir}: `) : dir === '*' ? '* ' : '';
    // Every line is escaped here, whatever its source (a certificate subject in a `*` note is the server's text too).
    const out = `${time}${this.opts.label}${prefix}${printable(text, 4096)}\n`;
    if (this.held) this.held.push(out);
    else this.opts.write(out);
  }
}
