// Where passwords and OAuth access tokens come from. Never argv: anything on a command line
// is readable by other users (ps, /proc/PID/cmdline) and lands in shell history.
// Order: --X-file, --X-command, the environment, the account's X_file / X_command,
// ~/.netrc (passwords only), then a prompt without echo when stdin is a terminal.

import { spawn } from 'node:child_process';
import { readFileSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { homeDir } from './config.js';
import { CliError, configError, EXIT } from './exit-codes.js';
import { findNetrcEntry, parseNetrc } from './netrc.js';

export type SecretKind = 'password' | 'token';

export interface SecretRequest {
  kind: SecretKind;
  host: string;
  user: string | undefined;
  flagFile?: string;
  flagCommand?: string;
  configFile?: string;
  configCommand?: string;
  /** Look in ~/.netrc (passwords only). */
  netrc: boolean;
  /** Ask on the terminal when nothing else gave one. */
  prompt: boolean;
}

export interface FoundSecret {
  value: string;
  /** Where it came from, for --trace ("password from POP3_PASSWORD"); never the value. */
  source: string;
  /** netrc may also name the user. */
  user?: string;
}

const ENV: Record<SecretKind, string> = { password: 'POP3_PASSWORD', token: 'POP3_TOKEN' };
const MAX_SECRET_FILE = 64 * 1024;
const MAX_COMMAND_OUTPUT = 64 * 1024;
const COMMAND_TIMEOUT_MS = 120_000;

/** Look for a secret in order; undefined when no source has one (the caller decides whether that is fatal). */
export async function findSecret(req: SecretRequest): Promise<FoundSecret | undefined> {
  if (req.flagFile) return { value: readSecretFile(req.flagFile, req.kind), source: `${req.kind} file` };
  if (req.flagCommand) {
    return { value: await runSecretCommand(req.flagCommand, req.kind), source: `${req.kind} command` };
  }
  const env = process.env[ENV[req.kind]];
  if (env !== undefined && env !== '') return { value: checkSecret(env, req.kind), source: ENV[req.kind] };
  if (req.configFile) {
    return { value: readSecretFile(req.configFile, req.kind), source: `${req.kind}_file in the config` };
  }
  if (req.configCommand) {
    return {
      value: await runSecretCommand(req.configCommand, req.kind),
      source: `${req.kind}_command in the config`,
    };
  }
  if (req.netrc && req.kind === 'password') {
    const found = fromNetrc(req.host, req.user);
    if (found) return found;
  }
  if (req.prompt && process.stdin.isTTY) {
    const who = req.user ? `${req.user}@${req.host}` : req.host;
    const label = req.kind === 'password' ? 'Password' : 'Access token';
    return { value: checkSecret(await promptHidden(`${label} for ${who}: `), req.kind), source: 'prompt' };
  }
  return undefined;
}

/** The message when no source had a secret. */
export function missingSecret(kind: SecretKind): CliError {
  const sources =
    kind === 'password'
      ? 'POP3_PASSWORD, --password-file, --password-command, password_file/password_command in the config, or ~/.netrc'
      : 'POP3_TOKEN, --token-file, --token-command, or token_file/token_command in the config';
  return configError(`no ${kind} given: use ${sources} (or run on a terminal to be asked)`);
}

function checkSecret(value: string, kind: SecretKind): string {
  if (value.length === 0) throw configError(`the ${kind} is empty`);
  if (/[\r\n\0]/.test(value)) throw configError(`the ${kind} contains CR, LF or NUL`);
  return value;
}

function firstLine(text: string): string {
  const nl = text.search(/\r?\n/);
  return nl < 0 ? text : text.slice(0, nl);
}

/** Whether a file holding a secret can be read (or written) by others than its owner. */
function looseMode(st: Stats): boolean {
  return (st.mode & 0o077) !== 0 && process.platform !== 'win32';
}

export function readSecretFile(path: string, kind: SecretKind): string {
  let text: string;
  try {
    const st = statSync(path);
    if (st.size > MAX_SECRET_FILE) throw configError(`${kind} file ${path}: larger than 64 KiB`);
    if (looseMode(st)) {
      process.stderr.write(`pop3: warning: ${kind} file ${path} is readable by other users (chmod 600 it)\n`);
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw configError(`cannot read ${kind} file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return checkSecret(firstLine(text), kind);
}

/**
 * Run a command through the shell (like mpop's passwordeval) and take the first line of its
 * output. Its stderr and stdin stay the terminal's, so a password manager can ask for a passphrase.
 */
export function runSecretCommand(command: string, kind: SecretKind): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { shell: true, stdio: ['inherit', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let failed: CliError | undefined;
    const timer = setTimeout(() => {
      failed = configError(`${kind} command timed out after ${COMMAND_TIMEOUT_MS / 1000} s`);
      child.kill('SIGTERM');
    }, COMMAND_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_COMMAND_OUTPUT) {
        failed = configError(`${kind} command printed more than 64 KiB`);
        child.kill('SIGTERM');
        return;
      }
      chunks.push(chunk);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(configError(`cannot run the ${kind} command: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failed) return reject(failed);
      // Never show the output: it may be (part of) the secret.
      if (code !== 0) {
        return reject(
          configError(`${kind} command failed (${signal ? `signal ${signal}` : `exit ${code}`})`),
        );
      }
      try {
        resolve(checkSecret(firstLine(Buffer.concat(chunks).toString('utf8')), kind));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** netrc files already warned about (the file is read twice: for the user, then the password). */
const netrcWarned = new Set<string>();

function fromNetrc(host: string, user: string | undefined): FoundSecret | undefined {
  const path = process.env.NETRC || join(homeDir(), '.netrc');
  let text: string;
  let loose = false;
  try {
    const st = statSync(path);
    if (st.size > 1024 * 1024) throw configError(`${path}: larger than 1 MiB`);
    loose = looseMode(st);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw configError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const entry = findNetrcEntry(parseNetrc(text), host, user);
  if (!entry?.password) return undefined;
  if (loose && !netrcWarned.has(path)) {
    // As for --password-file (ftp(1) refuses such a file outright).
    netrcWarned.add(path);
    process.stderr.write(
      `pop3: warning: ${path} holds a password and is readable by other users (chmod 600 it)\n`,
    );
  }
  return {
    value: checkSecret(entry.password, 'password'),
    source: '~/.netrc',
    ...(entry.login ? { user: entry.login } : {}),
  };
}

/** The user name from ~/.netrc for a host, when none was given. */
export function netrcUser(host: string): string | undefined {
  try {
    return fromNetrc(host, undefined)?.user;
  } catch {
    return undefined;
  }
}

const MAX_TYPED = 4096;

/** Read a line from the terminal without echo. Ctrl-C interrupts; Ctrl-U clears. */
export function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let typed = '';
    const wasRaw = stdin.isRaw;
    // Echo off before the prompt appears: a fast typist (or a script) must not be echoed.
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    stdin.resume();
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of decoder.write(chunk)) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\x03') return finish(new CliError('interrupted', EXIT.INTERRUPTED));
        if (ch === '\x04' && typed === '') return finish(configError('no secret typed'));
        if (ch === '\x7f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch === '\x15') typed = '';
        else if (ch >= ' ' && typed.length < MAX_TYPED) typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}
