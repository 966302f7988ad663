/** Our own error codes: what went wrong on our side of the wire. */
export type Pop3ErrorCode =
  | 'ECONNECT' // could not open the connection
  | 'ETIMEDOUT' // a connect, greeting, command or idle deadline passed
  | 'EABORT' // the caller's AbortSignal fired
  | 'ECLOSED' // the connection closed (or was closed) before the reply was complete
  | 'EPROTOCOL' // the peer broke the protocol (malformed reply, bytes after STLS, ...)
  | 'ELIMIT' // a configured bound was exceeded (line length, message size, list length, ...)
  | 'ETLS' // TLS negotiation or certificate verification failed, or TLS was required and unavailable
  | 'EAUTH' // authentication failed or no acceptable mechanism
  | 'EINSECURE' // refused to send a secret over a connection without TLS
  | 'EARGUMENT' // a caller-supplied argument cannot be sent (CR/LF/NUL, too long, out of range)
  | 'ESERVER' // the server answered -ERR
  | 'ESTATE'; // the command is not valid in the current state

export interface Pop3ErrorInit {
  code: Pop3ErrorCode;
  /** The server's RFC 2449 / RFC 3206 response code, e.g. `IN-USE` or `SYS/TEMP`. */
  responseCode?: string;
  /** The command that failed, with secrets already redacted (e.g. `PASS ***`). */
  command?: string;
  /** The server's reply text, without the status word and response code. */
  response?: string;
  cause?: unknown;
}

/** The one error class pop3kit throws. Fields say what happened; the message is for people. */
export class Pop3Error extends Error {
  override name = 'Pop3Error';
  readonly code: Pop3ErrorCode;
  readonly responseCode: string | undefined;
  readonly command: string | undefined;
  readonly response: string | undefined;

  constructor(message: string, init: Pop3ErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.responseCode = init.responseCode;
    this.command = init.command;
    this.response = init.response;
  }

  /** True where RFC 2449/3206 says the condition is temporary: try again later, keep the password. */
  get temporary(): boolean {
    const rc = this.responseCode?.toUpperCase();
    return rc === 'IN-USE' || rc === 'LOGIN-DELAY' || rc === 'SYS/TEMP' || this.code === 'ETIMEDOUT';
  }
}

/** Printable form of untrusted text for messages and logs: control bytes escaped, length capped. */
export function printable(text: string, max = 200): string {
  let out = text.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
  if (out.length > max) out = `${out.slice(0, max)}…`;
  return out;
}
