// A config port that is not a TCP port (70000, 1.5, 0) reached net.connect, whose
// RangeError came out as "internal error: ..." with exit 70 ("a bug: please report it"),
// instead of a config error (78) naming the key.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { CliError, EXIT } from './exit-codes.js';

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pop3-config-port-'));
  const path = join(dir, 'config.toml');
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

describe('config port', () => {
  it('must be a whole number from 1 to 65535', async () => {
    for (const port of ['70000', '1.5', '0']) {
      const err = await loadConfig(file(`[accounts.a]\nhost = "h"\nport = ${port}\n`)).catch(
        (e: unknown) => e,
      );
      expect(err, port).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(EXIT.CONFIG);
      expect((err as CliError).message).toContain('port');
    }
    const ok = await loadConfig(file('[accounts.a]\nhost = "h"\nport = 1995\n'));
    expect(ok.accounts.get('a')?.port).toBe(1995);
  });
});
