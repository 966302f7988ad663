// POP URLs (RFC 2384): pop://[user[;AUTH=(*|type)]@]host[:port], plus the pop3:// and
// pop3s:// forms curl uses. There is no password field, on purpose (secrets stay off argv).

import type { TlsMode } from '../client/options.js';
import { printable } from '../protocol/errors.js';
import { usageError } from './exit-codes.js';

export interface PopUrl {
  host: string;
  port?: number;
  user?: string;
  /** `USER`, `APOP` (RFC 2384's `+APOP`) or a SASL name; undefined for `*` or absent. */
  mechanism?: string;
  /** `implicit` for pop3s://; undefined for pop:// and pop3:// (the caller decides). */
  tls?: TlsMode;
}

const SCHEME = /^(pop|pop3|pop3s):\/\//i;
const MECHANISM = /^(\+APOP|[A-Za-z0-9_-]{1,20})$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

export function looksLikeUrl(arg: string): boolean {
  return SCHEME.test(arg);
}

function decode(part: string, what: string): string {
  let out: string;
  try {
    out = decodeURIComponent(part);
  } catch {
    throw usageError(`URL: bad %-encoding in the ${what}`);
  }
  // CR/LF/NUL would let a URL smuggle a second command onto the wire (CONFORMANCE C15, curl CVE-2012-0036).
  if (/[\r\n\0]/.test(out)) throw usageError(`URL: the ${what} contains CR, LF or NUL`);
  return out;
}

/** Parse a POP URL; throws a usage error that never repeats the whole URL (it may hold a typo'd secret). */
export function parsePopUrl(url: string): PopUrl {
  const scheme = SCHEME.exec(url);
  if (!scheme) throw usageError('URL must start with pop3://, pop3s:// or pop://');
  let rest = url.slice(scheme[0].length);
  const slash = rest.search(/[/?#]/);
  if (slash >= 0) {
    const tail = rest.slice(slash);
    if (tail !== '/') throw usageError('URL: a POP URL has no path, query or fragment (RFC 2384)');
    rest = rest.slice(0, slash);
  }
  const out: PopUrl = { host: '' };
  if (scheme[1]!.toLowerCase() === 'pop3s') out.tls = 'implicit';
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const semi = userinfo.indexOf(';');
    const rawUser = semi >= 0 ? userinfo.slice(0, semi) : userinfo;
    if (rawUser.includes(':')) {
      throw usageError(
        'URL: passwords are not allowed in URLs (RFC 2384 has none; argv is visible to other users). ' +
          'Use POP3_PASSWORD, --password-file, --password-command, ~/.netrc or the prompt',
      );
    }
    if (rawUser) out.user = decode(rawUser, 'user name');
    if (semi >= 0) {
      const param = userinfo.slice(semi + 1);
      const m = /^AUTH=(.*)$/i.exec(param);
      if (!m) throw usageError('URL: the only parameter allowed after the user is ;AUTH=');
      const mech = decode(m[1]!, 'AUTH parameter');
      if (mech !== '*') {
        if (!MECHANISM.test(mech)) throw usageError(`URL: bad AUTH mechanism "${printable(mech, 40)}"`);
        out.mechanism = mech.toUpperCase() === '+APOP' ? 'APOP' : mech.toUpperCase();
      }
    }
  }
  let host = rest;
  const bracket = /^\[([0-9A-Fa-f:.]+)\](?::(\d*))?$/.exec(rest);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2]) out.port = parsePort(bracket[2]);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      host = rest.slice(0, colon);
      const port = rest.slice(colon + 1);
      if (port) out.port = parsePort(port);
    }
    host = decode(host, 'host');
    if (!HOSTNAME.test(host)) throw usageError(`URL: bad host name "${printable(host, 80)}"`);
  }
  if (!host) throw usageError('URL: the host is missing');
  out.host = host;
  return out;
}

export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw usageError(`bad port "${printable(text, 20)}"`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw usageError(`port ${port} is out of range (1-65535)`);
  return port;
}
