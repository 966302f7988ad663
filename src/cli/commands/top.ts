import type { Command } from 'commander';
import { parseCount, parseMessageNumber } from '../arguments.js';
import { bodyToFile, bodyToStdout, readAll, requestBody } from '../body-output.js';
import { addConnectionOptions, type ConnectFlags, splitUrl } from '../connection-args.js';
import { usageError } from '../exit-codes.js';
import { decodeHeaderValue, parseHeaderBlock, summarizeHeaders } from '../mime-headers.js';
import { printJson } from '../output.js';
import { withSession } from '../session.js';

interface TopFlags extends ConnectFlags {
  output?: string;
}

const MAX_JSON_TOP = 16 * 1024 * 1024;

export function registerTop(program: Command): void {
  const cmd = program
    .command('top')
    .summary("a message's headers and first lines of body (TOP)")
    .argument('<n>', 'message number')
    .argument('[lines]', 'body lines after the headers (default 0: headers only)')
    .argument('[url]', 'pop3s://user@host[:port]')
    .option('-o, --output <file>', 'write to FILE instead of stdout');
  addConnectionOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
With --json the header fields are printed decoded (RFC 2047 words, legacy charsets), with
the decoded Subject, From and Date.

Examples:
  pop3 top 1 pop3s://alice@mail.example.com          # headers of message 1
  pop3 top 1 10 --account work                        # headers and 10 body lines
  pop3 top 1 --account work --json`,
  );
  cmd.action(async (a: string, b: string | undefined, c: string | undefined, flags: TopFlags) => {
    const { url, rest } = splitUrl([a, b, c]);
    if (rest.length < 1 || rest.length > 2) throw usageError('top takes a message number and a line count');
    const n = parseMessageNumber(rest[0]!);
    const lines = rest[1] === undefined ? 0 : parseCount(rest[1], 'the line count');
    if (flags.json && flags.output) throw usageError('--json and -o cannot be combined');
    await withSession(flags, url, async ({ client, tracer }) => {
      const body = await requestBody(tracer, () => client.top(n, lines));
      if (flags.json) {
        const bytes = await readAll(body, MAX_JSON_TOP);
        const fields = parseHeaderBlock(bytes);
        const h = summarizeHeaders(bytes);
        printJson({
          n,
          lines,
          octets: bytes.length,
          subject: h.subject,
          from: h.from,
          fromAddress: h.fromAddress ?? null,
          date: h.date?.toISOString() ?? null,
          headers: fields.map((f) => ({ name: f.name, value: decodeHeaderValue(f.raw) })),
        });
      } else if (flags.output) {
        await bodyToFile(body, flags.output);
      } else {
        await bodyToStdout(body);
      }
    });
  });
}
