// The server's log on stderr: JSON lines (for journald and log shippers) or one readable line
// per event. The server passes only fields that are safe to log (never a password or token).

import { printable } from '../protocol/errors.js';
import type { Logger } from '../server/logger.js';

export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function parseLogLevel(text: string): LogLevel | undefined {
  return (Object.keys(ORDER) as LogLevel[]).find((l) => l === text.toLowerCase());
}

/** JSON.stringify escapes C0 controls but not DEL, the C1 controls (U+009B is CSI) or U+2028/9. */
const quote = (text: string): string =>
  JSON.stringify(text).replace(
    /[\x7f-\x9f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

function pretty(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? quote(value) : printable(value, 300);
  if (value instanceof Error) return JSON.stringify(printable(value.message, 300));
  return printable(JSON.stringify(value) ?? String(value), 300);
}

export function createLogger(
  format: LogFormat,
  minimum: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const emit = (level: LogLevel) => (fields: object, msg?: string) => {
    const time = new Date().toISOString();
    if (format === 'json') {
      const safe = Object.fromEntries(
        Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? v.message : v]),
      );
      write(`${JSON.stringify({ time, level, msg: msg ?? '', ...safe })}\n`);
      return;
    }
    const kv = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${pretty(v)}`)
      .join(' ');
    write(`${time} ${level.toUpperCase().padEnd(5)} ${printable(msg ?? '', 300)}${kv ? ` ${kv}` : ''}\n`);
  };
  // Levels below the minimum are left out, so the server does not even build their fields.
  const logger: Logger = {};
  for (const level of Object.keys(ORDER) as LogLevel[]) {
    if (ORDER[level] >= ORDER[minimum]) logger[level] = emit(level);
  }
  return logger;
}
