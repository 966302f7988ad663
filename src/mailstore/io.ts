// Small file-system and byte-stream helpers shared by the stores and the delivery code.

import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';

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
export async function writeNewFileSynced(
  path: string,
  data: Uint8Array | AsyncIterable<Uint8Array>,
): Promise<number> {
  const fh = await fs.open(path, 'wx', 0o600);
  let bytes = 0;
  try {
    for await (const chunk of data instanceof Uint8Array ? [data] : data) {
      await writeAll(fh, chunk);
      bytes += chunk.length;
    }
    await fh.sync();
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => {});
    await fs.rm(path, { force: true });
    throw err;
  }
  return bytes;
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

/** CRLF -> LF over a chunk stream; a CR at a chunk's end waits for the next chunk; bare CR is kept. */
export async function* crlfToLf(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pendingCr = false;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let n = 0;
    let i = 0;
    if (pendingCr) {
      if (chunk[0] !== LF) out[n++] = CR;
      pendingCr = false;
    }
    for (; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === CR) {
        if (i + 1 === chunk.length) {
          pendingCr = true;
          continue;
        }
        if (chunk[i + 1] === LF) continue;
      }
      out[n++] = b;
    }
    if (n > 0) yield out.subarray(0, n);
  }
  if (pendingCr) yield Buffer.of(CR);
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
