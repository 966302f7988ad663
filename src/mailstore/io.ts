// Small file-system and byte-stream helpers shared by the stores and the delivery code.

import { closeSync, promises as fs, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { Pop3Error } from '../protocol/errors.js';
import { WireSizeCounter } from '../protocol/wire-size.js';

/** A message to deliver: bytes in memory, a Readable, or any async iterable of chunks. */
export type MessageSource = Readable | Uint8Array | AsyncIterable<Uint8Array | string>;

/** The source as an async iterable of Buffers (string chunks, from a stream with an encoding, as UTF-8). */
export async function* chunksOf(source: MessageSource): AsyncGenerator<Buffer> {
  if (source instanceof Uint8Array) {
    yield Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    return;
  }
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8');
    else yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

/** Write all of buf (a regular-file write may in principle be short). */
export async function writeAll(fh: fs.FileHandle, buf: Uint8Array, position?: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const at = position === undefined ? null : position + done;
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, at);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

/**
 * Create `path` (it must not exist yet; mode 0600), write `data` (bytes or a stream of chunks)
 * and fsync it. Returns the bytes written. On any failure, the stream's too, nothing is left.
 */
export async function writeNewFileSynced(path: string, data: MessageSource): Promise<number> {
  const w = new NewFileWriter(path);
  try {
    await pump(data, (chunk) => w.write(chunk));
    return w.finish();
  } catch (err) {
    w.abort();
    throw err;
  }
}

/**
 * Replace `path` with `data` atomically: write and fsync `tmp` (a new name beside `path`, so the
 * rename stays in one directory), then rename it over `path`. Readers see the old file or the new
 * one, never a torn one. With `syncDir`, the directory is fsynced too, so the replacement itself
 * survives a crash (not only the bytes).
 */
export async function replaceFileAtomic(
  path: string,
  data: Uint8Array,
  opts: { tmp: string; syncDir?: boolean },
): Promise<void> {
  await writeNewFileSynced(opts.tmp, data);
  try {
    await fs.rename(opts.tmp, path);
  } catch (err) {
    await fs.rm(opts.tmp, { force: true });
    throw err;
  }
  if (opts.syncDir) await fsyncDir(dirname(path));
}

/** fsync a directory so a rename or unlink in it survives a crash. */
export async function fsyncDir(dir: string | Buffer): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * CRLF -> LF over a stream of chunks, counting as it goes the wire octets of what it outputs (the
 * rule WireSizeCounter implements), so one pass gives the stored bytes and the Maildir W= size.
 * Each chunk is copied once into the caller's buffer and closed up there around the CRs it drops
 * (copyWithin per line; LFs found with indexOf): no per-byte JavaScript and no allocation. A CR
 * ending a chunk is held until the next chunk shows whether an LF follows; a bare CR or LF is kept.
 */
export class CrlfToLfConverter {
  #heldCr = false;
  /** The last byte output, -1 before any. */
  #last = -1;
  #bytes = 0;
  /** LFs in the output with no CR before them (each is CRLF on the wire). */
  #bareLf = 0;

  /**
   * Convert `c` into out[at...]; returns the new end. `out` needs room for c.length + 1 bytes
   * from `at` (a held CR may come out in front).
   */
  convert(c: Uint8Array, out: Uint8Array, at: number): number {
    const n = c.length;
    if (n === 0) return at;
    if (out.length - at < n + 1) throw new RangeError('CrlfToLfConverter: output buffer too small');
    let w = at;
    if (this.#heldCr) {
      // Followed by LF: the pair's CR is dropped (never copied). Otherwise it was a bare CR.
      this.#heldCr = false;
      if (c[0] !== LF) out[w++] = CR;
    }
    const end = c[n - 1] === CR ? n - 1 : n;
    if (end < n) this.#heldCr = true;
    // c[k] now sits at out[base + k] until closed up.
    const base = w;
    out.set(c, base);
    let start = 0;
    // An LF cannot be the held CR, so every LF found is before `end`.
    let i = c.indexOf(LF);
    while (i !== -1) {
      if (i > 0 && c[i - 1] === CR) {
        if (w !== base + start) out.copyWithin(w, base + start, base + i - 1);
        w += i - 1 - start;
        start = i;
      }
      // The output byte before this LF.
      const before = i > start ? c[i - 1] : w > at ? out[w - 1] : this.#last;
      if (before !== CR) this.#bareLf++;
      i = c.indexOf(LF, i + 1);
    }
    if (w !== base + start) out.copyWithin(w, base + start, base + end);
    w += end - start;
    if (w > at) {
      this.#bytes += w - at;
      this.#last = out[w - 1]!;
    }
    return w;
  }

  /** The input ended: a held CR was a bare one. Needs room for one byte; returns the new end. */
  end(out: Uint8Array, at: number): number {
    if (!this.#heldCr) return at;
    this.#heldCr = false;
    out[at] = CR;
    this.#bytes++;
    this.#last = CR;
    return at + 1;
  }

  /** Bytes output so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Wire octets of the output so far, as if it ended here (see WireSizeCounter). */
  get octets(): number {
    return this.#bytes + this.#bareLf + (this.#last === LF ? 0 : 2);
  }
}

/** CRLF -> LF over a chunk stream; a CR at a chunk's end waits for the next chunk; bare CR is kept. */
export async function* crlfToLf(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const conv = new CrlfToLfConverter();
  for await (const chunk of source) {
    // Each chunk gets its own buffer, as it is yielded: at most the input plus a held CR.
    const out = Buffer.allocUnsafe(chunk.length + 1);
    const n = conv.convert(chunk, out, 0);
    if (n > 0) yield out.subarray(0, n);
  }
  const out = Buffer.allocUnsafe(1);
  if (conv.end(out, 0) > 0) yield out;
}

function isReadable(source: unknown): source is Readable {
  return (
    typeof source === 'object' &&
    source !== null &&
    typeof (source as Readable).on === 'function' &&
    typeof (source as Readable).pipe === 'function' &&
    'readableEnded' in source
  );
}

function asBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Hand every chunk of `source` to `onChunk`, synchronously as it arrives; resolves at the end.
 * A plain Readable is read through 'data' events (Node's stream iterator adds an async generator
 * and end-of-stream listeners per stream); a Readable with an iterator of its own (the client's
 * message bodies, whose for-await takes parts straight from their queue) and any other async
 * iterable are iterated. If `onChunk` throws, reading stops, the source is closed (destroyed or
 * its iterator returned) and the promise rejects with that error.
 */
export function pump(source: MessageSource, onChunk: (chunk: Buffer) => void): Promise<void> {
  if (source instanceof Uint8Array) {
    try {
      onChunk(asBuffer(source));
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }
  if (isReadable(source) && source[Symbol.asyncIterator] === Readable.prototype[Symbol.asyncIterator]) {
    return pumpReadable(source, onChunk);
  }
  return (async () => {
    for await (const chunk of source as AsyncIterable<Uint8Array | string>) onChunk(asBuffer(chunk));
  })();
}

function pumpReadable(body: Readable, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (body.readableEnded) return resolve();
    if (body.destroyed) return reject(body.errored ?? prematureClose());
    // Plain listeners rather than stream.finished(), which costs more per message than the rest.
    const settle = (err?: unknown) => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onData = (chunk: Buffer | string) => {
      try {
        onChunk(asBuffer(chunk));
      } catch (err) {
        settle(err);
        body.destroy();
      }
    };
    const onEnd = () => settle();
    const onError = (err: Error) => settle(err);
    const onClose = () => settle(body.readableEnded ? undefined : (body.errored ?? prematureClose()));
    body.on('error', onError);
    body.on('end', onEnd);
    body.on('close', onClose);
    body.on('data', onData);
  });
}

function prematureClose(): Error {
  return Object.assign(new Error('the message stream closed before its end'), {
    code: 'ERR_STREAM_PREMATURE_CLOSE',
  });
}

/** Bytes a NewFileWriter holds before it writes; messages up to this size take one write(). */
const WRITE_BUFFER = 256 * 1024;
/** Spare write buffers kept for the next writer (one is in use at a time in a fetch). */
const spareBuffers: Buffer[] = [];

/** Write all of `buf` at the file's position with synchronous calls (see NewFileWriter for why). */
export function writeAllSync(fd: number, buf: Uint8Array): void {
  let done = 0;
  while (done < buf.length) {
    const n = writeSync(fd, buf, done, buf.length - done);
    if (n <= 0) throw new Error('write made no progress');
    done += n;
  }
}

export interface NewFileWriterOptions {
  /** Refuse more than this many bytes: error ELIMIT (the caller aborts). Default: no limit. */
  maxBytes?: number;
  /** Called once when the file cannot be created because its folder is missing; then retried. */
  onMissingDir?: () => void;
}

/**
 * A new file (O_EXCL, 0600) written with synchronous system calls through a fixed buffer: a message
 * up to WRITE_BUFFER bytes costs open, one write, fsync, close; a larger one streams in
 * WRITE_BUFFER pieces (memory does not grow with the message). Synchronous on purpose: the caller
 * waits for each step anyway, and a promise-based call would add a threadpool round trip (two
 * context switches) per call while the socket keeps buffering just the same.
 */
export class NewFileWriter {
  #fd = -1;
  #buf: Buffer | undefined;
  #n = 0;
  #bytes = 0;
  #done = false;
  readonly #maxBytes: number;

  constructor(
    readonly path: string,
    private readonly opts: NewFileWriterOptions = {},
  ) {
    this.#maxBytes = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
  }

  /** Append a chunk as it is. */
  write(chunk: Uint8Array): void {
    const len = chunk.length;
    if (len === 0) return;
    this.#count(len);
    const buf = this.#buffer();
    if (this.#n + len > buf.length) this.#flush();
    if (len >= buf.length) writeAllSync(this.#open(), chunk);
    else {
      buf.set(chunk, this.#n);
      this.#n += len;
    }
  }

  /** Append a chunk with its CRLFs turned into LF by `conv` (converted in the buffer itself). */
  writeConverted(chunk: Uint8Array, conv: CrlfToLfConverter): void {
    const buf = this.#buffer();
    const room = buf.length - 1;
    for (let at = 0; at < chunk.length; at += room) {
      const piece = chunk.length <= room ? chunk : chunk.subarray(at, at + room);
      if (this.#n + piece.length + 1 > buf.length) this.#flush();
      const from = this.#n;
      this.#n = conv.convert(piece, buf, from);
      this.#count(this.#n - from);
    }
  }

  /** The converted input ended (a held CR comes out). */
  endConverted(conv: CrlfToLfConverter): void {
    const buf = this.#buffer();
    if (this.#n + 1 > buf.length) this.#flush();
    const from = this.#n;
    this.#n = conv.end(buf, from);
    this.#count(this.#n - from);
  }

  #count(len: number): void {
    if (this.#bytes + len > this.#maxBytes) {
      throw new Pop3Error(`message exceeds the delivery limit of ${this.#maxBytes} bytes`, {
        code: 'ELIMIT',
      });
    }
    this.#bytes += len;
  }

  #buffer(): Buffer {
    this.#buf ??= spareBuffers.pop() ?? Buffer.allocUnsafe(WRITE_BUFFER);
    return this.#buf;
  }

  /** Create the file now rather than at the first write. */
  create(): void {
    this.#open();
  }

  /** Write what is buffered, fsync, close. Returns the file's size. */
  finish(): number {
    if (this.#done) throw new Error('NewFileWriter: already finished');
    try {
      this.#flush();
      const fd = this.#open();
      fsyncSync(fd);
      this.#fd = -1;
      closeSync(fd);
    } catch (err) {
      this.abort();
      throw err;
    }
    this.#done = true;
    this.#release();
    return this.#bytes;
  }

  /** Close and remove the file (if it was created); nothing is left. Safe to call twice. */
  abort(): void {
    if (this.#done) return;
    this.#done = true;
    this.#release();
    if (this.#fd < 0) return;
    try {
      closeSync(this.#fd);
    } catch {}
    this.#fd = -1;
    try {
      unlinkSync(this.path);
    } catch {}
  }

  #open(): number {
    if (this.#fd >= 0) return this.#fd;
    try {
      this.#fd = openSync(this.path, 'wx', 0o600);
    } catch (err) {
      if (!isMissing(err) || !this.opts.onMissingDir) throw err;
      this.opts.onMissingDir();
      this.#fd = openSync(this.path, 'wx', 0o600);
    }
    return this.#fd;
  }

  #flush(): void {
    const fd = this.#open();
    if (this.#n > 0 && this.#buf) writeAllSync(fd, this.#buf.subarray(0, this.#n));
    this.#n = 0;
  }

  #release(): void {
    if (this.#buf && spareBuffers.length < 2) spareBuffers.push(this.#buf);
    this.#buf = undefined;
    this.#n = 0;
  }
}

/** How writeMessage stores a message. */
export interface MessageWriteOptions {
  /** Bytes written before the message (e.g. a Received: header); not reported to onBytes. */
  head?: Uint8Array;
  /** Called with the length of each source chunk as it arrives (progress). */
  onBytes?: (n: number) => void;
  /** 'lf' turns CRLF into LF as it writes; 'keep' (default) stores the bytes as given. */
  lineEnds?: 'lf' | 'keep';
}

/**
 * Create `file`, write `head` and `source` into it in one pass per chunk (line ends, wire size and
 * the write), fsync and close it. Returns the bytes stored and the message's wire octets. On any
 * failure, the source's too, nothing is left. The one write path of Maildir tmp/ and spool files.
 */
export async function writeMessage(
  file: NewFileWriter,
  source: MessageSource,
  opts: MessageWriteOptions = {},
): Promise<{ bytes: number; octets: number }> {
  const conv = opts.lineEnds === 'lf' ? new CrlfToLfConverter() : undefined;
  const counter = conv ? undefined : new WireSizeCounter();
  const take = conv
    ? (chunk: Uint8Array) => file.writeConverted(chunk, conv)
    : (chunk: Uint8Array) => {
        file.write(chunk);
        counter?.push(chunk);
      };
  const onBytes = opts.onBytes;
  try {
    file.create();
    if (opts.head) take(opts.head);
    await pump(
      source,
      onBytes
        ? (chunk) => {
            onBytes(chunk.length);
            take(chunk);
          }
        : take,
    );
    if (conv) file.endConverted(conv);
    const octets = conv ? conv.octets : (counter?.octets ?? 0);
    return { bytes: file.finish(), octets };
  } catch (err) {
    file.abort();
    throw err;
  }
}

/** fsync a directory with synchronous calls (see NewFileWriter for why). */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function isCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as { code?: string }).code ?? '');
}

export function isMissing(err: unknown): boolean {
  return isCode(err, 'ENOENT');
}

/** True when anything (a symlink too, not followed) is at `path`; errors other than ENOENT are thrown. */
export async function pathExists(path: string | Buffer): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}
