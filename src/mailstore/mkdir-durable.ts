// mkdir -p whose result survives a crash: a new folder's name is durable only once the folder
// that holds it is fsynced, so each parent of a folder it made is fsynced (delivery and the
// fetcher's state make their folders on first use, and mail goes into them at once).

import { promises as fs, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fsyncDir, fsyncDirSync } from './io.js';

/** Make `dir` and its missing parents (mode 0700) and fsync the folders that name what was made. */
export async function mkdirDurable(dir: string): Promise<void> {
  const first = await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  for (const parent of parentsOfMade(dir, first)) await fsyncDir(parent);
}

/** The same, synchronous (for a delivery in the middle of synchronous writes). */
export function mkdirDurableSync(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const parent of parentsOfMade(dir, first)) fsyncDirSync(parent);
}

/** The parent of each folder a recursive mkdir made, from `dir` up to `first` (the first it made). */
function parentsOfMade(dir: string, first: string | undefined): string[] {
  const out: string[] = [];
  if (first === undefined) return out;
  for (let d = dir; ; d = dirname(d)) {
    out.push(dirname(d));
    if (d === first || dirname(d) === d) return out;
  }
}
