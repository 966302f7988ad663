// Where a message body goes: stdout (with backpressure; a closed pipe ends quietly) or a file
// written to a temporary name, flushed, then renamed, so a failed transfer leaves no partial file.

import { once } from 'node:events';
import { promises as fs, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { CliError, EXIT, usageError } from './exit-codes.js';
import { printJson } from './output.js';
import type { Tracer } from './trace.js';

/** Send RETR/TOP and return its body, tapped for --trace-body when a tracer wants it. */
export async function requestBody(
  tracer: Tracer | undefined,
  send: () => Promise<Readable>,
): Promise<NodeJS.ReadableStream & AsyncIterable<Buffer>> {
  const slot = tracer?.expectBody();
  let body: Readable;
  try {
    body = await send();
  } catch (err) {
    slot?.cancel();
    throw err;
  }
  return slot ? slot.tap(body) : body;
}

/** Read a body whole, up to `max` octets (more is an error, the rest is drained by the client). */
export async function readAll(
  body: AsyncIterable<Buffer> & { destroy?: () => void },
  max: number,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy?.();
      throw new CliError(`message larger than ${max} octets; use -o FILE instead`, EXIT.USAGE);
    }
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

/** Copy a body to stdout. Returns octets written; a closed pipe (EPIPE) stops quietly. */
export async function bodyToStdout(body: AsyncIterable<Buffer> & { destroy?: () => void }): Promise<number> {
  const out = process.stdout;
  let written = 0;
  let broken = false;
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') broken = true;
  };
  out.on('error', onError);
  try {
    for await (const chunk of body) {
      if (broken) break;
      written += chunk.length;
      if (!out.write(chunk)) {
        await Promise.race([once(out, 'drain'), once(out, 'error')]);
      }
    }
  } finally {
    out.off('error', onError);
    if (broken) body.destroy?.();
  }
  return written;
}

/** Copy a body to a file via a temporary file in the same directory, then rename. */
export async function bodyToFile(body: AsyncIterable<Buffer>, path: string): Promise<number> {
  const tmp = join(dirname(path), `.${basename(path)}.pop3-${process.pid}.tmp`);
  const handle = await fs.open(tmp, 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot write ${path}: ${err.code ?? err.message}`, EXIT.OUTPUT);
  });
  // Ctrl-C or SIGTERM ends the process through process.exit: the half-written file goes too.
  const removeTmp = () => rmSync(tmp, { force: true });
  process.once('exit', removeTmp);
  let written = 0;
  try {
    for await (const chunk of body) {
      await handle.write(chunk);
      written += chunk.length;
    }
    await handle.sync();
    await handle.close();
    await fs.rename(tmp, path);
  } catch (err) {
    await handle.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).syscall) {
      throw new CliError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code}`, EXIT.OUTPUT);
    }
    throw err;
  } finally {
    process.off('exit', removeTmp);
  }
  return written;
}

/** Options of the commands that print one body (retr, top). */
export interface BodyFlags {
  output?: string;
  json?: boolean;
}

export function checkBodyFlags(flags: BodyFlags): void {
  if (flags.json && flags.output) throw usageError('--json and -o cannot be combined');
}

/**
 * A body to -o FILE, to stdout, or with --json read whole (up to `max` octets) and printed as
 * what `describe` makes of it.
 */
export async function writeBody(
  body: NodeJS.ReadableStream & AsyncIterable<Buffer>,
  flags: BodyFlags,
  max: number,
  describe: (bytes: Buffer) => Promise<object>,
): Promise<void> {
  if (flags.json) printJson(await describe(await readAll(body, max)));
  else if (flags.output) await bodyToFile(body, flags.output);
  else await bodyToStdout(body);
}
