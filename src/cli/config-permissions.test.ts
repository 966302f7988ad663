// The config file names commands pop3 runs (password_command, token_command, mda). One
// that other users can write lets them run commands as you and read your password, so, as
// fetchmail does for its rc file, it is refused (exit 78) instead of read.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { CliError, EXIT } from './exit-codes.js';

function file(text: string, mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'pop3-config-perm-'));
  const path = join(dir, 'config.toml');
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

const TEXT = '[accounts.w]\nurl = "pop3s://a@h"\npassword_command = "pass show mail"\n';

describe.skipIf(process.platform === 'win32')('config file permissions', () => {
  it('a config file others can write is refused (78)', async () => {
    for (const mode of [0o666, 0o620, 0o602]) {
      const err = await loadConfig(file(TEXT, mode)).catch((e: unknown) => e);
      expect(err, mode.toString(8)).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(EXIT.CONFIG);
      expect((err as CliError).message).toMatch(/writable/);
    }
  });

  it('0600 and 0644 are read', async () => {
    for (const mode of [0o600, 0o644]) {
      const c = await loadConfig(file(TEXT, mode));
      expect(c.accounts.get('w')?.password_command).toBe('pass show mail');
    }
  });
});
