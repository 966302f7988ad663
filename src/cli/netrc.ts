// ~/.netrc (the ftp/curl format): `machine HOST login USER password SECRET`, `default`, and
// `macdef` blocks (skipped). Tokens may be "double quoted" with backslash escapes, as curl allows.

export interface NetrcEntry {
  /** undefined for the `default` entry. */
  machine: string | undefined;
  login?: string;
  password?: string;
}

const MAX_TOKENS = 100_000;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length && tokens.length < MAX_TOKENS) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      // A comment runs from a token-initial '#' to the end of the line (quote a password that starts with one).
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
      continue;
    }
    let token = '';
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        token += text[i++];
      }
      i++;
    } else {
      while (i < text.length && !/\s/.test(text[i]!)) token += text[i++];
    }
    tokens.push(token);
    if (token === 'macdef') {
      // The macro's name, then its body up to the next blank line.
      const end = text.indexOf('\n\n', i);
      i = end < 0 ? text.length : end + 2;
    }
  }
  return tokens;
}

export function parseNetrc(text: string): NetrcEntry[] {
  const entries: NetrcEntry[] = [];
  const tokens = tokenize(text);
  let current: NetrcEntry | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === 'machine') {
      current = { machine: tokens[++i] };
      entries.push(current);
    } else if (t === 'default') {
      current = { machine: undefined };
      entries.push(current);
    } else if (current && t === 'login') {
      current.login = tokens[++i];
    } else if (current && t === 'password') {
      current.password = tokens[++i];
    } else if (t === 'account') {
      i++;
    } else if (t === 'macdef') {
      current = undefined;
    }
  }
  return entries;
}

/**
 * The entry for `host` (and `user`, when known): the first `machine` entry that matches,
 * else `default`. Host names compare case-insensitively.
 */
export function findNetrcEntry(entries: NetrcEntry[], host: string, user?: string): NetrcEntry | undefined {
  const wanted = host.toLowerCase();
  const fits = (e: NetrcEntry) => user === undefined || e.login === undefined || e.login === user;
  return (
    entries.find((e) => e.machine?.toLowerCase() === wanted && fits(e)) ??
    entries.find((e) => e.machine === undefined && fits(e))
  );
}
