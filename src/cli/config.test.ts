import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { resolveTarget } from './connection-args.js';
import { CliError } from './exit-codes.js';

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pop3-config-'));
  const path = join(dir, 'config.toml');
  writeFileSync(path, text);
  return path;
}

describe('config and target resolution', () => {
  it('reads accounts; relative paths are relative to the file; ~ is the home directory', async () => {
    const path = file(
      'default = "w"\n[accounts.w]\nurl = "pop3s://a@h"\npassword_file = "pw"\nmaildir = "~/Mail"\nport = 1995\n',
    );
    const c = await loadConfig(path);
    const w = c.accounts.get('w')!;
    expect(w.password_file).toBe(join(path, '..', 'pw'));
    expect(w.maildir).toBe(join(process.env.HOME ?? '', 'Mail'));
    expect(c.default).toBe('w');
    const t = resolveTarget({}, undefined, c);
    expect(t).toMatchObject({ label: 'w', host: 'h', port: 1995, tls: 'implicit', user: 'a' });
  });

  it('flags override the URL, which overrides the account', async () => {
    const c = await loadConfig(file('[accounts.w]\nhost = "h"\nuser = "a"\ntls = "none"\n'));
    const t = resolveTarget({ account: 'w', user: 'b' }, undefined, c);
    expect(t).toMatchObject({ host: 'h', user: 'b', tls: 'none', port: 110 });
    const u = resolveTarget({ port: '2110' }, 'pop3://c@x', c);
    expect(u).toMatchObject({ host: 'x', user: 'c', tls: 'starttls', port: 2110 });
    expect(resolveTarget({ host: 'x', port: '110' }, undefined, c).tls).toBe('starttls');
    expect(resolveTarget({ host: 'x' }, undefined, c)).toMatchObject({ tls: 'implicit', port: 995 });
  });

  it('rejects unknown keys, secrets in the file, a missing default, wrong types', async () => {
    for (const text of [
      'x = 1\n',
      '[accounts.a]\nhots = "h"\n',
      '[accounts.a]\npassword = "p"\n',
      'default = "nope"\n',
      '[accounts.a]\nport = "995"\n',
      '[accounts."bad name"]\n',
    ]) {
      await expect(loadConfig(file(text)), text).rejects.toThrow(CliError);
    }
  });

  it('no server anywhere is a usage error; --fingerprint with --tls none too', async () => {
    const empty = await loadConfig(file(''));
    expect(() => resolveTarget({}, undefined, empty)).toThrow(/no server given/);
    expect(() => resolveTarget({ host: 'h', tls: 'none', fingerprint: 'x' }, undefined, empty)).toThrow(
      CliError,
    );
  });
});
