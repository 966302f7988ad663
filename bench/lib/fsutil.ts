import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Remove `dir` and everything in it, then create it empty. */
export async function resetDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

/** An empty Maildir (tmp/ new/ cur/), as the clients that need one to exist expect. */
export async function emptyMaildir(dir: string): Promise<void> {
  await resetDir(dir);
  for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(dir, sub));
}

/** A contender's folder, emptied, with an empty home/ for the HOME it runs with. */
export async function resetWorkDir(dir: string): Promise<void> {
  await resetDir(dir);
  await mkdir(join(dir, 'home'));
}
