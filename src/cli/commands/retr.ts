import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { parseMessageNumber } from '../arguments.js';
import { bodyToFile, bodyToStdout, readAll, requestBody } from '../body-output.js';
import { addConnectionOptions, type ConnectFlags, splitUrl } from '../connection-args.js';
import { usageError } from '../exit-codes.js';
import { summarizeHeaders } from '../mime-headers.js';
import { printJson } from '../output.js';
import { withSession } from '../session.js';

interface RetrFlags extends ConnectFlags {
  output?: string;
}

/** --json holds the message in memory (base64): bounded. */
const MAX_JSON_MESSAGE = 64 * 1024 * 1024;

export function registerRetr(program: Command): void {
  const cmd = program
    .command('retr')
    .summary('write one message, byte for byte, to stdout or a file (RETR)')
    .argument('<n>', 'message number')
    .argument('[url]', 'pop3s://user@host[:port]')
    .option('-o, --output <file>', 'write to FILE (via a temporary file, renamed when complete)');
  addConnectionOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
The message is written exactly as stored (dot-unstuffed, CRLF line ends as sent). Nothing is
deleted. With --json: number, size, sha256, decoded Subject/From/Date, and the bytes in base64
(up to 64 MiB).

Examples:
  pop3 retr 3 pop3s://alice@mail.example.com > message.eml
  pop3 retr 3 --account work -o message.eml --trace`,
  );
  cmd.action(async (a: string, b: string | undefined, flags: RetrFlags) => {
    const { url, rest } = splitUrl([a, b]);
    if (rest.length !== 1) throw usageError('retr takes exactly one message number');
    const n = parseMessageNumber(rest[0]!);
    if (flags.json && flags.output) throw usageError('--json and -o cannot be combined');
    await withSession(flags, url, async ({ client, tracer }) => {
      const body = await requestBody(tracer, () => client.retr(n));
      if (flags.json) {
        const bytes = await readAll(body, MAX_JSON_MESSAGE);
        const h = summarizeHeaders(bytes);
        printJson({
          n,
          octets: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          subject: h.subject,
          from: h.from,
          fromAddress: h.fromAddress ?? null,
          date: h.date?.toISOString() ?? null,
          messageId: h.messageId ?? null,
          base64: bytes.toString('base64'),
        });
      } else if (flags.output) {
        await bodyToFile(body, flags.output);
      } else {
        await bodyToStdout(body);
      }
    });
  });
}
