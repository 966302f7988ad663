// The password or token pop3 logged in with must not be handed to the MDA. The MDA runs
// through the shell on hostile mail (procmail recipes, filters, scripts that log their
// environment), and everything it starts inherits what it gets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PASSWORD, runCli, tempDir, USER, useServer } from './cli-harness.js';

const TOKEN = 'ya29.review-token-value';
const ctx = useServer({
  options: { verifyToken: async (user, token) => (user === USER && token === TOKEN ? user : null) },
});

describe('pop3 fetch --mda', () => {
  it('the MDA environment holds neither POP3_PASSWORD nor POP3_TOKEN', async () => {
    for (const [env, secret, extra] of [
      [{ POP3_PASSWORD: PASSWORD }, PASSWORD, []],
      [{ POP3_TOKEN: TOKEN }, TOKEN, ['--auth', 'XOAUTH2']],
    ] as const) {
      const dir = tempDir();
      const seen = join(dir, 'mda-env');
      const r = await runCli(
        [
          'fetch',
          `pop3s://${USER}@127.0.0.1:${ctx.srv.tlsPort}`,
          '--ca-file',
          ctx.caFile,
          ...extra,
          '--mda',
          `cat >/dev/null; env >> '${seen}'`,
          '--state-dir',
          join(dir, 'state'),
          '--no-progress',
        ],
        { env },
      );
      expect(r.code, r.stderr).toBe(0);
      const text = readFileSync(seen, 'utf8');
      expect(text).toContain('POP3KIT_UID=');
      expect(text).not.toContain(secret);
    }
  });
});
