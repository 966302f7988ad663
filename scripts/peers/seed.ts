// Fills a Maildir with deterministic test mail.
//   node --import tsx scripts/peers/seed.ts --dir <maildir> --preset mixed|sized [--count N] [--size BYTES] [--big]
// mixed: the edge-case messages, then --count small ones (default 2000); --big adds the 20 MiB one.
// sized: --count messages (default 100) of exactly --size file bytes (default 8192).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateMessages, type MailboxSpec, writeMaildir } from '../../test/fixtures/mail-generator.js';

interface SeedArgs {
  dir: string;
  spec: MailboxSpec;
}

function parseIntArg(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new Error(`${flag} needs a non-negative integer`);
  }
  return n;
}

export function parseSeedArgs(argv: string[]): SeedArgs {
  let dir: string | undefined;
  let preset = 'mixed';
  let count: number | undefined;
  let size = 8192;
  let big = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--dir') dir = argv[++i];
    else if (arg === '--preset') preset = argv[++i] ?? '';
    else if (arg === '--count') count = parseIntArg(arg, argv[++i]);
    else if (arg === '--size') size = parseIntArg(arg, argv[++i]);
    else if (arg === '--big') big = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!dir) throw new Error('--dir <maildir> is required');
  if (preset === 'mixed') return { dir, spec: { preset, smallCount: count ?? 2000, big } };
  if (preset === 'sized') return { dir, spec: { preset, count: count ?? 100, size } };
  throw new Error(`--preset must be mixed or sized, not ${preset}`);
}

async function main(argv: string[]): Promise<void> {
  const { dir, spec } = parseSeedArgs(argv);
  const messages = generateMessages(spec);
  const written = await writeMaildir(dir, messages);
  const bytes = messages.reduce((sum, m) => sum + m.bytes.length, 0);
  process.stdout.write(`wrote ${written.length} messages (${bytes} bytes) into ${resolve(dir)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`seed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
