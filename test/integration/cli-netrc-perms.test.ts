// A ~/.netrc that holds the password and that other users can read is used without a
// word, while a --password-file with the same permissions gets a warning (and ftp(1) refuses
// such a .netrc). It must be warned about, once, as the password file is.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PASSWORD, runCli, tempHome, USER, useServer } from './cli-harness.js';

const ctx = useServer();

describe.skipIf(process.platform === 'win32')('~/.netrc permissions', () => {
  it('a netrc readable by others is used, with one warning; a 0600 one without', async () => {
    for (const [mode, warned] of [
      [0o644, true],
      [0o600, false],
    ] as const) {
      const home = tempHome();
      const netrc = join(home, '.netrc');
      writeFileSync(netrc, `machine 127.0.0.1 login ${USER} password "${PASSWORD}"\n`);
      chmodSync(netrc, mode);
      const r = await runCli(['stat', `pop3s://127.0.0.1:${ctx.srv.tlsPort}`, '--ca-file', ctx.caFile], {
        home,
      });
      expect(r.code, r.stderr).toBe(0);
      const warnings = r.stderr.split('\n').filter((l) => /readable by other users/.test(l));
      expect(warnings, mode.toString(8)).toHaveLength(warned ? 1 : 0);
      expect(r.stderr).not.toContain(PASSWORD);
    }
  });
});
