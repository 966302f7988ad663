// The README's "A first program" block must run as written: extract it, run it against the
// built package (imported by its public names, 'pop3kit' and 'pop3kit/server'), check its output.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

it("README's first program runs as written and prints the message", async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A first program'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  expect(code).toContain("from 'pop3kit'");
  // Inside the repository, so that 'pop3kit' resolves to this package (self-reference via "exports").
  const file = join(root, `readme-example-${process.pid}.mts`);
  writeFileSync(file, code!);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      timeout: 30_000,
    });
    expect(stdout).toContain('{ count: 1, octets: 73 }');
    expect(stdout).toMatch(/C: AUTH PLAIN \*\*\*/);
    expect(stdout).not.toContain('correct horse');
    expect(stdout).toContain('.a line that starts with a dot');
  } finally {
    rmSync(file, { force: true });
  }
});
