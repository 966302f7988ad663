// The config file: TOML at $XDG_CONFIG_HOME/pop3kit/config.toml (or ~/.config/pop3kit/config.toml),
// or --config FILE. One [accounts.NAME] table per account; unknown keys are errors, so a typo
// never silently turns a setting off.

import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { printable } from '../protocol/errors.js';
import { configError } from './exit-codes.js';

/** One account, as written in the config file (snake_case keys, as in TOML). */
export interface AccountConfig {
  name: string;
  url?: string;
  host?: string;
  port?: number;
  tls?: string;
  user?: string;
  auth?: string;
  password_file?: string;
  password_command?: string;
  token_file?: string;
  token_command?: string;
  ca_file?: string;
  fingerprint?: string;
  tls_min?: string;
  insecure_auth?: boolean;
  insecure_tls?: boolean;
  timeout?: number;
  // pop3 fetch
  maildir?: string;
  mbox?: string;
  mda?: string;
  delete?: boolean;
  delete_after_days?: number;
  max_size?: string | number;
  max_size_action?: string;
  limit?: number;
  received_header?: boolean;
  state_dir?: string;
}

export interface Config {
  /** Where it was read from; undefined when there is no config file. */
  path?: string;
  /** The account used when no URL, --host or --account is given. */
  default?: string;
  accounts: Map<string, AccountConfig>;
}

const MAX_CONFIG_BYTES = 1024 * 1024;
const STRING_KEYS = [
  'url',
  'host',
  'tls',
  'user',
  'auth',
  'password_file',
  'password_command',
  'token_file',
  'token_command',
  'ca_file',
  'fingerprint',
  'tls_min',
  'maildir',
  'mbox',
  'mda',
  'max_size_action',
  'state_dir',
] as const;
const NUMBER_KEYS = ['port', 'timeout', 'delete_after_days', 'limit'] as const;
const BOOLEAN_KEYS = ['insecure_auth', 'insecure_tls', 'delete', 'received_header'] as const;
const ACCOUNT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** `~/x` and `~` against the home directory; relative paths against the config file's folder. */
export function expandPath(path: string, base?: string): string {
  if (path === '~') return homeDir();
  if (path.startsWith('~/')) return join(homeDir(), path.slice(2));
  if (isAbsolute(path) || !base) return resolve(path);
  return resolve(base, path);
}

export function homeDir(): string {
  return process.env.HOME || homedir();
}

/** Where pop3 keeps state ($XDG_STATE_HOME/pop3kit or ~/.local/state/pop3kit), with `parts` appended. */
export function statePath(...parts: string[]): string {
  return join(process.env.XDG_STATE_HOME || join(homeDir(), '.local', 'state'), 'pop3kit', ...parts);
}

/** The config file to read: --config, else the XDG location (which may not exist). */
export function defaultConfigPath(): string {
  const xdg = process.env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homeDir(), '.config');
  return join(base, 'pop3kit', 'config.toml');
}

/**
 * Load the config file. A missing default file means no accounts; a missing --config file is an error.
 * The TOML parser is imported only when there is a file to parse: most runs have none.
 */
export async function loadConfig(explicitPath?: string): Promise<Config> {
  const path = explicitPath ? resolve(explicitPath) : defaultConfigPath();
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw configError(`config ${path}: not a file`);
    if (st.size > MAX_CONFIG_BYTES) throw configError(`config ${path}: larger than 1 MiB`);
    // It names commands we run (password_command, token_command, mda): a file someone else can
    // rewrite would run their commands as us, with our password. fetchmail refuses such a file too.
    if (process.platform !== 'win32') {
      if ((st.mode & 0o022) !== 0) {
        throw configError(
          `config ${path}: writable by other users; chmod go-w it (it names commands pop3 runs)`,
        );
      }
      const uid = process.getuid?.();
      if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
        throw configError(
          `config ${path}: owned by another user (uid ${st.uid}); it names commands pop3 runs`,
        );
      }
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicitPath) return { accounts: new Map() };
    if (err instanceof Error && err.name === 'CliError') throw err;
    throw configError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  const { parse } = await import('smol-toml');
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    // smol-toml's message quotes the lines around the error (a password typed there among them):
    // say only what is wrong and where.
    const e = err as Error & { line?: number; column?: number };
    const what = printable(e.message.split('\n')[0]!.replace(/^Invalid TOML document: /, ''), 200);
    const where = e.line ? ` (line ${e.line}, column ${e.column ?? 0})` : '';
    throw configError(`config ${path}: invalid TOML: ${what}${where}`);
  }
  return interpret(doc, path);
}

function interpret(doc: Record<string, unknown>, path: string): Config {
  const config: Config = { path, accounts: new Map() };
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'default') {
      if (typeof value !== 'string') throw configError(`config ${path}: "default" must be a string`);
      config.default = value;
    } else if (key === 'accounts') {
      if (!isTable(value)) throw configError(`config ${path}: "accounts" must be a table of tables`);
      for (const [name, table] of Object.entries(value)) {
        config.accounts.set(name, readAccount(name, table, path));
      }
    } else {
      throw configError(`config ${path}: unknown key "${printable(key, 40)}"`);
    }
  }
  if (config.default !== undefined && !config.accounts.has(config.default)) {
    throw configError(`config ${path}: default account "${printable(config.default, 40)}" is not defined`);
  }
  return config;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function readAccount(name: string, table: unknown, path: string): AccountConfig {
  const where = `config ${path}: [accounts.${printable(name, 40)}]`;
  if (!ACCOUNT_NAME.test(name)) throw configError(`${where}: account names use A-Z a-z 0-9 _ . -`);
  if (!isTable(table)) throw configError(`${where} must be a table`);
  const account: AccountConfig = { name };
  const record = account as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(table)) {
    if ((STRING_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== 'string') throw configError(`${where}: ${key} must be a string`);
      record[key] = value;
    } else if ((NUMBER_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw configError(`${where}: ${key} must be a number >= 0`);
      }
      if (key === 'port' && (!Number.isInteger(value) || value < 1 || value > 65535)) {
        throw configError(`${where}: port must be a whole number from 1 to 65535`);
      }
      record[key] = value;
    } else if ((BOOLEAN_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== 'boolean') throw configError(`${where}: ${key} must be true or false`);
      record[key] = value;
    } else if (key === 'max_size') {
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw configError(`${where}: max_size must be a number of bytes or a string like "10M"`);
      }
      account.max_size = value;
    } else if (key === 'password' || key === 'token') {
      throw configError(
        `${where}: ${key} cannot be written in the config file; use ${key}_file or ${key}_command`,
      );
    } else {
      throw configError(`${where}: unknown key "${printable(key, 40)}"`);
    }
  }
  // Paths in the file are relative to the file, so the config works from any directory.
  const base = resolve(path, '..');
  for (const key of ['password_file', 'token_file', 'ca_file', 'maildir', 'mbox', 'state_dir'] as const) {
    const v = account[key];
    if (v !== undefined) account[key] = expandPath(v, base);
  }
  return account;
}
