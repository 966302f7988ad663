import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Pop3Client } from '../../client/client.js';
import { Pop3Error, printable } from '../../protocol/errors.js';
import { parseCount, parseMessageNumber } from '../arguments.js';
import { requestBody } from '../body-output.js';
import { statePath } from '../config.js';
import { splitUrl } from '../connection-args.js';
import type { ConnectFlags } from '../connection-options.js';
import { CliError, exitCodeForPop3Error, usageError } from '../exit-codes.js';
import { closeAllSessions } from '../open-clients.js';
import { openSession } from '../session.js';
import { Tracer } from '../trace.js';

const HISTORY_SIZE = 500;
const HELP = `# Type POP3 commands; the server's replies are shown as they arrive. Login is done.
#   STAT  LIST [n]  UIDL [n]  TOP n lines  RETR n  DELE n  RSET  NOOP  CAPA  QUIT
# QUIT commits deletions (the UPDATE state); Ctrl-D leaves WITHOUT QUIT: nothing is deleted.
# The shell sends the commands above through the client, which checks their arguments;
# USER, PASS, APOP, AUTH and STLS are done by pop3 itself when it connects.`;

const historyPath = () => statePath('shell_history');

function loadHistory(): string[] {
  try {
    return readFileSync(historyPath(), 'utf8').split('\n').filter(Boolean).slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

function saveHistory(history: readonly string[]): void {
  try {
    mkdirSync(dirname(historyPath()), { recursive: true, mode: 0o700 });
    writeFileSync(historyPath(), `${[...history].slice(0, HISTORY_SIZE).reverse().join('\n')}\n`, {
      mode: 0o600,
    });
  } catch {
    // history is a convenience; a read-only home must not fail the session
  }
}

const say = (text: string) => process.stdout.write(`# ${text}\n`);

async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of body) {
    // the tap shows it
  }
}

interface ShellCommand {
  /** Fewest and most arguments. */
  args: readonly [number, number];
  /** Send it through the client; the tap shows the replies (and bodies). */
  send(client: Pop3Client, args: string[], shown: Tracer): Promise<unknown>;
}

const COMMANDS = new Map<string, ShellCommand>([
  ['STAT', { args: [0, 0], send: (c) => c.stat() }],
  ['LIST', { args: [0, 1], send: (c, [n]) => (n ? c.list(parseMessageNumber(n)) : c.list()) }],
  ['UIDL', { args: [0, 1], send: (c, [n]) => (n ? c.uidl(parseMessageNumber(n)) : c.uidl()) }],
  [
    'TOP',
    {
      args: [2, 2],
      send: async (c, [n, lines], shown) => {
        const number = parseMessageNumber(n!);
        const count = parseCount(lines!, 'the line count');
        await drain(await requestBody(shown, () => c.top(number, count)));
      },
    },
  ],
  [
    'RETR',
    {
      args: [1, 1],
      send: async (c, [n], shown) => {
        const number = parseMessageNumber(n!);
        await drain(await requestBody(shown, () => c.retr(number)));
      },
    },
  ],
  ['DELE', { args: [1, 1], send: (c, [n]) => c.dele(parseMessageNumber(n!)) }],
  ['RSET', { args: [0, 0], send: (c) => c.rset() }],
  ['NOOP', { args: [0, 0], send: (c) => c.noop() }],
  ['CAPA', { args: [0, 0], send: (c) => c.capa() }],
  ['QUIT', { args: [0, 0], send: (c) => c.quit() }],
]);

/** Done by pop3 itself when it connects. */
const LOGIN_COMMANDS = new Set(['USER', 'PASS', 'APOP', 'AUTH', 'STLS']);

/** Run one typed line; returns false when the session is over (QUIT). */
async function runLine(client: Pop3Client, shown: Tracer, line: string): Promise<boolean> {
  const [word = '', ...args] = line.trim().split(/\s+/);
  const keyword = word.toUpperCase();
  if (keyword === '') return true;
  if (keyword === 'HELP' || keyword === '?') {
    process.stdout.write(`${HELP}\n`);
    return true;
  }
  if (LOGIN_COMMANDS.has(keyword)) {
    say(`${keyword} is done by pop3 when it connects; this session is already logged in`);
    return true;
  }
  const command = COMMANDS.get(keyword);
  if (!command) {
    say(`unknown or unsupported command "${printable(word, 20)}" (type HELP)`);
    return true;
  }
  const [min, max] = command.args;
  if (args.length < min || args.length > max)
    throw usageError(`${keyword} takes ${min === max ? min : `${min}-${max}`} argument(s)`);
  await command.send(client, args, shown);
  return keyword !== 'QUIT';
}

export async function run(url: string | undefined, flags: ConnectFlags): Promise<void> {
  const { url: u } = splitUrl([url]);
  const shown = new Tracer({
    write: (s) => process.stdout.write(s),
    showBody: true,
    times: false,
    client: false,
    prefixes: false,
    notes: false,
  });
  shown.setEnabled(false);
  const { client, target } = await openSession(flags, u, { onTrace: shown.onTrace });
  shown.setEnabled(true);
  const tty = Boolean(process.stdin.isTTY);
  say(
    `connected to ${target.host}:${target.port}${client.tls ? ` (${client.tls.version})` : ' (no TLS)'}, logged in with ${client.mechanism}; type HELP`,
  );
  const rl: Interface = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: tty,
    history: tty ? loadHistory() : [],
    historySize: HISTORY_SIZE,
    prompt: 'pop3> ',
  });
  rl.on('SIGINT', () => {
    process.stdout.write('\n');
    say('type QUIT to commit and leave, or Ctrl-D to leave without QUIT');
    rl.prompt();
  });
  let quit = false;
  try {
    if (tty) rl.prompt();
    for await (const line of rl) {
      try {
        if (!(await runLine(client, shown, line))) {
          quit = true;
          break;
        }
      } catch (err) {
        if (err instanceof Pop3Error && err.code === 'ESERVER') {
          // the -ERR line was shown already
        } else if (err instanceof Pop3Error && err.code === 'EARGUMENT') {
          say(err.message);
        } else if (err instanceof CliError && err.exitCode === 64) {
          say(err.message);
        } else if (err instanceof Pop3Error) {
          say(err.message);
          throw new CliError(`connection lost: ${err.message}`, exitCodeForPop3Error(err));
        } else throw err;
      }
      if (tty) rl.prompt();
    }
  } finally {
    if (tty) saveHistory((rl as unknown as { history: string[] }).history ?? []);
    rl.close();
    shown.flush();
    if (!quit && !client.closed) {
      say('leaving without QUIT: messages marked deleted stay on the server');
    }
    closeAllSessions();
  }
}
