// A TOML syntax error must not print the config file's lines: the parser's message quotes
// the lines around the error, and a password someone wrote there (which pop3 would then refuse
// with "cannot be written in the config file") ends up on stderr, in logs and in CI output.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { CliError, EXIT } from './exit-codes.js';

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pop3-config-syntax-'));
  const path = join(dir, 'config.toml');
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

describe('config syntax errors', () => {
  it('name the line and column, never the file text', async () => {
    for (const text of [
      '[accounts.a]\nhost = "h"\npassword = "hunter2-secret\n',
      '[accounts.a]\npassword = hunter2-secret\nhost = "h"\n',
      '[accounts.a]\ntoken = "hunter2-secret"\nhost = = "h"\n',
    ]) {
      const err = await loadConfig(file(text)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(EXIT.CONFIG);
      expect((err as CliError).message).not.toContain('hunter2');
      expect((err as CliError).message).toMatch(/line \d+/);
    }
  });
});
