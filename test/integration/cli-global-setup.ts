// The cli-*.test.ts files run the built `pop3`, as users will: compiled once by tsc with
// tsconfig.build.json and bundled by scripts/bundle-cli.mjs (the steps of `npm run build`), into a
// private folder under node_modules/.cache (so a build that another run starts in the same tree
// cannot rewrite the files under a running test; modules still resolve from the project's
// node_modules). The bundle's path, dist/bin/pop3.js there, is handed to the tests as `pop3Bin`.
// tsc writes its output even when some file has a type error; that is reported here and left to
// the typecheck step, so one unfinished file elsewhere does not stop every integration test.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    pop3Bin: string;
  }
}

export default function setup(project: TestProject): () => void {
  const root = resolve(import.meta.dirname, '../..');
  const out = join(root, 'node_modules', '.cache', 'pop3kit-cli-test', String(process.pid));
  mkdirSync(out, { recursive: true });
  copyFileSync(join(root, 'package.json'), join(out, 'package.json')); // main.ts reads its version from it
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', join(out, 'dist')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0)
    process.stderr.write(`cli-global-setup: tsc reported errors:\n${r.stdout}${r.stderr}\n`);
  if (!existsSync(join(out, 'dist', 'cli', 'main.js')))
    throw new Error('build failed: tsc wrote no cli/main.js');
  const bundle = spawnSync(process.execPath, [join(root, 'scripts', 'bundle-cli.mjs'), join(out, 'dist')], {
    cwd: root,
    encoding: 'utf8',
  });
  const bin = join(out, 'dist', 'bin', 'pop3.js');
  if (bundle.status !== 0 || !existsSync(bin)) {
    throw new Error(`bundling the pop3 bin failed:\n${bundle.stdout}${bundle.stderr}`);
  }
  project.provide('pop3Bin', bin);
  return () => rmSync(out, { recursive: true, force: true });
}
