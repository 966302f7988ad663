/** Anything with pino-style level methods (`logger.info({ ...fields }, 'message')`); missing levels are skipped. */
export interface Logger {
  debug?(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
  error?(obj: object, msg?: string): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Log through a user-supplied logger without letting it break a session: a logger that
 * throws is ignored. Callers pass only fields that are safe to log (never a password,
 * token, PASS argument or SASL payload).
 */
export function safeLog(logger: Logger | undefined, level: LogLevel, fields: object, msg: string): void {
  const fn = logger?.[level];
  if (!fn) return;
  try {
    fn.call(logger, fields, msg);
  } catch {
    // A broken logger must not take the server down.
  }
}
