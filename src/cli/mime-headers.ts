// Message headers for people: RFC 5322 fields unfolded, RFC 2047 encoded words decoded with
// libmime (UTF-8, GB2312/GBK, Big5, ISO-2022-JP, ... via iconv-lite / encoding-japanese).
// Raw 8-bit header bytes are read as UTF-8 when valid, else in the message's charset, else Latin-1.

import iconv from 'iconv-lite';
import libmime from 'libmime';

export interface HeaderField {
  name: string;
  /** Unfolded value bytes, without the name and colon. */
  raw: Buffer;
}

export interface HeaderSummary {
  subject: string;
  /** Display form: the name when there is one, else the address. */
  from: string;
  fromName?: string;
  fromAddress?: string;
  /** The Date field as written, and parsed when it can be. */
  dateText?: string;
  date?: Date;
  messageId?: string;
}

const MAX_HEADER_BYTES = 256 * 1024;
const MAX_FIELDS = 2000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Split the header block (up to the first empty line) into unfolded fields. */
export function parseHeaderBlock(bytes: Buffer): HeaderField[] {
  const block = bytes.subarray(0, MAX_HEADER_BYTES);
  const fields: HeaderField[] = [];
  let start = 0;
  let current: { name: string; parts: Buffer[] } | undefined;
  const flush = () => {
    if (current) fields.push({ name: current.name, raw: Buffer.concat(current.parts) });
    current = undefined;
  };
  while (start < block.length && fields.length < MAX_FIELDS) {
    let end = block.indexOf(0x0a, start);
    if (end < 0) end = block.length;
    const line = block.subarray(start, end > start && block[end - 1] === 0x0d ? end - 1 : end);
    start = end + 1;
    if (line.length === 0) break;
    if ((line[0] === 0x20 || line[0] === 0x09) && current) {
      current.parts.push(line); // unfolding keeps the whitespace (RFC 5322 §2.2.3)
      continue;
    }
    flush();
    const colon = line.indexOf(0x3a);
    if (colon <= 0) continue; // not a field: ignored
    const name = line.subarray(0, colon).toString('latin1').trim();
    let value = line.subarray(colon + 1);
    while (value.length && (value[0] === 0x20 || value[0] === 0x09)) value = value.subarray(1);
    current = { name, parts: [value] };
  }
  flush();
  return fields;
}

/** The charset parameter of Content-Type, if any. */
function contentCharset(fields: HeaderField[]): string | undefined {
  const ct = fields.find((f) => f.name.toLowerCase() === 'content-type');
  if (!ct) return undefined;
  const m = /charset\s*=\s*"?([A-Za-z0-9_.:-]{1,40})"?/i.exec(ct.raw.toString('latin1'));
  return m?.[1];
}

/** Raw header bytes to text, then RFC 2047 words decoded. */
export function decodeHeaderValue(raw: Buffer, fallbackCharset?: string): string {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    text =
      fallbackCharset && iconv.encodingExists(fallbackCharset)
        ? iconv.decode(raw, fallbackCharset)
        : raw.toString('latin1');
  }
  try {
    return libmime.decodeWords(text).replace(/[\r\n]+/g, ' ');
  } catch {
    return text; // a malformed encoded word is shown as written
  }
}

/** `"Name" <addr>`, `Name <addr>`, `addr (Name)`, or `addr`: structure from the raw text, names decoded. */
export function parseFrom(raw: Buffer, charset?: string): { name?: string; address?: string } {
  const text = raw.toString('latin1');
  const angle = /<([^<>]*)>\s*$/.exec(text);
  if (angle) {
    const before = text.slice(0, angle.index).trim();
    const name = before ? unquote(decodeHeaderValue(Buffer.from(before, 'latin1'), charset)) : undefined;
    return { ...(name ? { name } : {}), address: angle[1]!.trim() };
  }
  const paren = /^([^\s()]+)\s*\((.*)\)\s*$/.exec(text);
  if (paren) {
    const name = decodeHeaderValue(Buffer.from(paren[2]!, 'latin1'), charset).trim();
    return { ...(name ? { name } : {}), address: paren[1]! };
  }
  return { address: decodeHeaderValue(raw, charset).trim() };
}

function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return t;
}

/** Subject, From, Date and Message-ID of a header block (TOP n 0), decoded for display. */
export function summarizeHeaders(bytes: Buffer): HeaderSummary {
  const fields = parseHeaderBlock(bytes);
  const charset = contentCharset(fields);
  const get = (name: string) => fields.find((f) => f.name.toLowerCase() === name);
  const subject = get('subject');
  const from = get('from');
  const date = get('date');
  const messageId = get('message-id');
  const summary: HeaderSummary = {
    subject: subject ? decodeHeaderValue(subject.raw, charset).trim() : '',
    from: '',
  };
  if (from) {
    const parsed = parseFrom(from.raw, charset);
    if (parsed.name) summary.fromName = parsed.name;
    if (parsed.address) summary.fromAddress = parsed.address;
    summary.from = parsed.name || parsed.address || '';
  }
  if (date) {
    summary.dateText = date.raw.toString('latin1').trim();
    const parsed = new Date(summary.dateText.replace(/\s*\([^)]*\)\s*$/, ''));
    if (!Number.isNaN(parsed.getTime())) summary.date = parsed;
  }
  if (messageId) summary.messageId = messageId.raw.toString('latin1').trim();
  return summary;
}

/** `YYYY-MM-DD HH:MM` in local time, for tables. */
export function shortDate(date: Date | undefined): string {
  if (!date) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(date.getMinutes())}`;
}
