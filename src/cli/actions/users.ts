import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  formatUsersLine,
  hashPassword,
  PASSWORD_SCHEMES,
  type PasswordScheme,
} from '../../server/users-file.js';
import { CliError, configError, EXIT, usageError } from '../exit-codes.js';
import { print } from '../output.js';
import { promptHidden } from '../secrets.js';

export interface UsersFlags {
  users: string;
  scheme: string;
  replace?: boolean;
}

/** The new password: asked twice on a terminal, else the first line of stdin. Never argv. */
async function readNewPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    const first = await promptHidden('New password: ');
    const again = await promptHidden('Again: ');
    if (first !== again) throw usageError('the two passwords differ');
    return first;
  }
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

function scheme(text: string): PasswordScheme {
  const s = text.toUpperCase() as PasswordScheme;
  if (!PASSWORD_SCHEMES.includes(s))
    throw usageError(`--scheme must be one of ${PASSWORD_SCHEMES.join(', ')}`);
  return s;
}

async function hashed(s: PasswordScheme): Promise<string> {
  const pass = await readNewPassword();
  if (pass === '' || /[\r\n\0]/.test(pass)) throw usageError('the password must not be empty');
  return hashPassword(pass, s);
}

export async function add(name: string, flags: UsersFlags): Promise<void> {
  const s = scheme(flags.scheme);
  if (name.includes(':') || name.startsWith('#') || /[\s\x00-\x1f]/.test(name)) {
    throw usageError('user names cannot contain ":", spaces or control characters, or start with "#"');
  }
  let text = '';
  try {
    text = await fs.readFile(flags.users, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw configError(`cannot read ${flags.users}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const lines = text.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1));
  const existing = lines.findIndex((l) => l.slice(0, l.indexOf(':')) === name && !l.startsWith('#'));
  if (existing >= 0 && !flags.replace)
    throw usageError(`${name} is already in ${flags.users} (use --replace)`);
  const line = formatUsersLine(name, await hashed(s));
  if (existing >= 0) lines[existing] = line;
  else lines.push(line);
  const tmp = join(dirname(flags.users), `.${basename(flags.users)}.${process.pid}.tmp`);
  try {
    await fs.writeFile(tmp, `${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' });
    await fs.rename(tmp, flags.users);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw new CliError(`cannot write ${flags.users}: ${(err as Error).message}`, EXIT.OUTPUT);
  }
  print(`${existing >= 0 ? 'updated' : 'added'} ${name} in ${flags.users} (${s})`);
}

export async function hash(flags: { scheme: string }): Promise<void> {
  print(await hashed(scheme(flags.scheme)));
}
