// Self-check of test/fixtures/mail-generator.ts (no Vitest project includes test/fixtures).
//   node --import tsx scripts/peers/check-mail-generator.ts
// Prints one line per check and 'N passed, N failed'; exits 1 on any failure.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  maildirBaseName,
  mixedMailbox,
  sizedMailbox,
  toWireForm,
  writeMaildir,
} from '../../test/fixtures/mail-generator.js';

const checks: Array<[string, () => void | Promise<void>]> = [];
const check = (name: string, fn: () => void | Promise<void>) => checks.push([name, fn]);

check('toWireForm turns bare LF into CRLF and leaves CRLF and lone CR alone', () => {
  assert.equal(toWireForm(Buffer.from('a\nb\r\nc\rd\n')).toString('latin1'), 'a\r\nb\r\nc\rd\r\n');
});
check('toWireForm appends CRLF only when the last byte is not LF', () => {
  assert.equal(toWireForm(Buffer.from('x')).toString(), 'x\r\n');
  assert.equal(toWireForm(Buffer.from('x\r')).toString(), 'x\r\r\n');
  assert.equal(toWireForm(Buffer.from('x\n')).toString(), 'x\r\n');
  assert.equal(toWireForm(Buffer.from('\n\n')).toString(), '\r\n\r\n');
  assert.equal(toWireForm(Buffer.alloc(0)).toString(), '\r\n');
});
check('mixedMailbox is deterministic and names are unique', () => {
  const a = mixedMailbox({ smallCount: 30 });
  const b = mixedMailbox({ smallCount: 30 });
  assert.equal(a.length, b.length);
  for (const [i, m] of a.entries()) assert.ok(m.bytes.equals(b[i]!.bytes), m.name);
  assert.equal(new Set(a.map((m) => m.name)).size, a.length);
  assert.ok(!mixedMailbox({ smallCount: 30, seed: 7 }).at(-1)!.bytes.equals(a.at(-1)!.bytes));
});
check('mixedMailbox covers every edge case the brief lists', () => {
  const byName = new Map(mixedMailbox({ smallCount: 1 }).map((m) => [m.name, m.bytes]));
  const body = (n: string) => {
    const bytes = byName.get(n)!;
    return bytes.subarray(bytes.indexOf('\n\n') + 2);
  };
  assert.ok(body('utf8-8bit').toString('utf8').includes('Grüße'));
  assert.equal(new TextDecoder('gbk').decode(body('gb2312')), '你好世界\n中文\n');
  assert.equal(new TextDecoder('shift_jis').decode(body('shift-jis')), 'こんにちは\n日本語\n');
  assert.ok(body('latin1').includes(Buffer.from([0x47, 0x72, 0xfc, 0xdf]))); // "Grüß" in ISO-8859-1
  assert.match(body('dot-lone').toString(), /\n\.\n/);
  assert.match(body('dot-double').toString(), /^\.\.\n/);
  assert.ok(byName.get('dot-final-no-newline')!.toString().endsWith('\n.'));
  assert.ok(!byName.get('bare-lf')!.includes('\r'));
  assert.ok(!/[^\r]\n/.test(byName.get('crlf')!.toString('latin1')));
  assert.ok(!byName.get('no-trailing-newline')!.toString().endsWith('\n'));
  assert.equal(body('headers-only').length, 0);
  assert.ok(body('nul-bytes').includes(0));
  assert.equal(byName.get('small-0001')!.length, 8192);
  assert.ok(!byName.has('big'));
});
check('the big message is ~20 MiB of 76-column base64 that decodes to the raw size', () => {
  const big = mixedMailbox({ smallCount: 0, big: true }).find((m) => m.name === 'big')!;
  const text = big.bytes.toString('latin1');
  const start = text.indexOf('\n\n', text.indexOf('Content-Transfer-Encoding: base64')) + 2;
  const b64 = text.slice(start, text.indexOf('\n--pop3kit-big-boundary--'));
  const lines = b64.split('\n');
  assert.ok(lines.every((l) => l.length <= 76 && /^[A-Za-z0-9+/=]+$/.test(l)));
  assert.equal(Buffer.from(lines.join(''), 'base64').length, 15 * 1024 * 1024);
  assert.ok(big.bytes.length > 20 * 1024 * 1024);
});
check('sizedMailbox gives exact file sizes for LF and CRLF', () => {
  for (const size of [512, 600, 8192, 100_000]) {
    for (const lineEnding of ['lf', 'crlf'] as const) {
      const list = sizedMailbox(8, size, { lineEnding });
      for (const m of list) assert.equal(m.bytes.length, size, `${m.name} ${lineEnding}`);
      if (lineEnding === 'crlf') for (const m of list) assert.ok(toWireForm(m.bytes).equals(m.bytes));
    }
  }
  assert.throws(() => sizedMailbox(1, 100), RangeError);
  assert.throws(() => sizedMailbox(-1, 1000), RangeError);
});
check('maildirBaseName is sortable and rejects unsafe names', () => {
  assert.ok(maildirBaseName(9, 'a') < maildirBaseName(10, 'a'));
  assert.ok(maildirBaseName(0, 'dot-final-no-newline').length <= 70);
  assert.throws(() => maildirBaseName(0, 'a/b'), RangeError);
  assert.throws(() => maildirBaseName(0, 'a:2,'), RangeError);
});
check('writeMaildir writes via tmp/ into cur/, continues numbering, never overwrites', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pop3kit-maildir-check-'));
  try {
    const msgs = mixedMailbox({ smallCount: 2 });
    const written = await writeMaildir(dir, msgs);
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
    const cur = (await readdir(join(dir, 'cur'))).sort();
    assert.equal(cur.length, msgs.length);
    assert.ok(cur.every((f) => f.endsWith(':2,')));
    assert.ok((await readFile(written[4]!.path)).equals(msgs[4]!.bytes));
    const more = await writeMaildir(dir, [msgs[0]!], { folder: 'new' });
    assert.equal(more[0]!.uid, maildirBaseName(msgs.length, msgs[0]!.name));
    await assert.rejects(writeMaildir(dir, [msgs[0]!], { firstIndex: 0 }), /already holds/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

let passed = 0;
let failed = 0;
for (const [name, fn] of checks) {
  try {
    await fn();
    passed++;
    process.stdout.write(`ok   ${name}\n`);
  } catch (err) {
    failed++;
    process.stdout.write(`FAIL ${name}\n     ${err instanceof Error ? err.message : String(err)}\n`);
  }
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed ? 1 : 0;
