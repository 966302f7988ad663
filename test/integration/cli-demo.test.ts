// `pop3 demo` (built binary) in an empty directory, as on a fresh machine: it must run to the end
// and leave the demo mail in ./pop3-demo/Maildir.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './cli-harness.js';

describe('pop3 demo', () => {
  it('runs the session with a trace, prints the inbox, fetches into ./pop3-demo/Maildir', async () => {
    const cwd = tempDir();
    const r = await runCli(['demo'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/C: STLS/);
    expect(r.stdout).toMatch(/\* +TLS TLSv1\.[23]/);
    expect(r.stdout).toContain('C: USER demo');
    expect(r.stdout).toMatch(/C: PASS \*\*\*$/m);
    for (const c of ['STAT', 'LIST', 'UIDL 1', 'RETR 3', 'QUIT']) expect(r.stdout).toContain(`C: ${c}\n`);
    expect(r.stdout).toContain('S: ..hidden files start with a dot'); // dot-stuffed on the wire
    expect(r.stdout).toContain('你好，邮件世界'); // GB2312 subject, decoded
    expect(r.stdout).toContain('Quarterly report (with attachment)');
    expect(r.stdout).toContain('pop3-demo/Maildir/new/');
    const maildir = join(cwd, 'pop3-demo', 'Maildir', 'new');
    const files = readdirSync(maildir);
    expect(files).toHaveLength(4);
    const bodies = files.map((f) => readFileSync(join(maildir, f)));
    expect(bodies.some((b) => b.includes(Buffer.from('\n.hidden files start with a dot\n')))).toBe(true);
    // Run again in the same place: its own folder is reused, not duplicated.
    const again = await runCli(['demo'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(maildir)).toHaveLength(4);
  });

  it('leaves a folder it did not make alone', async () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'pop3-demo'));
    const r = await runCli(['demo'], { cwd });
    expect(r.code).toBe(64);
    expect(existsSync(join(cwd, 'pop3-demo', 'Maildir'))).toBe(false);
  });
});
