import net, { type Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { Pop3Error } from '../protocol/errors.js';
import { withExtraCa } from './extra-ca.js';
import type { ClientOptions } from './options.js';
import { bindReads, SocketReads } from './socket-reads.js';

export interface TlsInfo {
  version: string;
  cipher: string;
  /** Subject CN of the server certificate, or '' when it has none. */
  subject: string;
  /** SHA-256 fingerprint of the server certificate, `AA:BB:…`. */
  fingerprint256: string;
}

/** Errors from before any TLS byte was exchanged: the connection itself failed. */
const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

function tlsConnectOptions(opts: ClientOptions): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = {
    // SNI and hostname checks use the name the caller gave; IP literals get no SNI (RFC 6066 §3).
    servername: net.isIP(opts.host) ? undefined : opts.host,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
    ...opts.tlsOptions,
  };
  return opts.extraCa ? withExtraCa(options, opts.extraCa) : options;
}

/** Resolve when `event` fires on `socket`; reject on error, close, timeout or abort, destroying the socket. */
function settle<T extends Socket>(socket: T, event: string, ms: number, what: string, signal?: AbortSignal) {
  return new Promise<T>((resolve, reject) => {
    const done = (err?: Pop3Error) => {
      clearTimeout(timer);
      socket.off(event, onOk);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(socket);
    };
    const onOk = () => done();
    const onError = (err: Error & { code?: string }) => {
      // A refused or unreachable address is a network failure even when TLS was to follow.
      const isTls =
        !NETWORK_ERRORS.has(err.code ?? '') &&
        (socket instanceof tls.TLSSocket || /SSL|TLS|CERT|certificate/i.test(`${err.code} ${err.message}`));
      done(
        new Pop3Error(`${what} failed: ${err.message}`, { code: isTls ? 'ETLS' : 'ECONNECT', cause: err }),
      );
    };
    const onClose = () => done(new Pop3Error(`${what} failed: connection closed`, { code: 'ECONNECT' }));
    const onAbort = () => done(new Pop3Error('aborted', { code: 'EABORT', cause: signal?.reason }));
    const timer = setTimeout(
      () => done(new Pop3Error(`${what} timed out after ${ms} ms`, { code: 'ETIMEDOUT' })),
      ms,
    );
    socket.once(event, onOk);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Open the TCP connection, with TLS first when the mode is implicit. */
export async function openSocket(opts: ClientOptions, port: number, connectMs: number): Promise<Socket> {
  if (opts.signal?.aborted) throw new Pop3Error('aborted', { code: 'EABORT', cause: opts.signal.reason });
  if (opts.tls === 'implicit' || opts.tls === undefined) {
    // Read through 'data' events: under TLS, decryption dominates, and onread measured no less
    // CPU and about 5 MB more peak memory (docs/benchmarks.md, fourth round).
    const socket = tls.connect({ host: opts.host, port, ...tlsConnectOptions(opts) });
    return settle(socket, 'secureConnect', connectMs, `TLS connection to ${opts.host}:${port}`, opts.signal);
  }
  const reads = new SocketReads();
  const socket = bindReads(net.connect({ host: opts.host, port, onread: reads.onread }), reads);
  return settle(socket, 'connect', connectMs, `connection to ${opts.host}:${port}`, opts.signal);
}

/** Start TLS on a connected socket (after STLS +OK). */
export function startTls(
  plain: Socket,
  opts: ClientOptions,
  ms: number,
): { socket: TLSSocket; ready: Promise<TLSSocket> } {
  // Node ignores `onread` when TLS wraps an existing socket: this one is read through 'data' events.
  // `host` names the peer for the certificate check: with a socket and no servername (an IP
  // literal gets no SNI), Node would otherwise check the certificate against "localhost".
  const socket = tls.connect({ socket: plain, host: opts.host, ...tlsConnectOptions(opts) });
  return { socket, ready: settle(socket, 'secureConnect', ms, 'TLS handshake after STLS', opts.signal) };
}

export function describeTls(socket: Socket): TlsInfo | undefined {
  if (!(socket instanceof tls.TLSSocket) || !socket.encrypted) return undefined;
  const cert = socket.getPeerCertificate();
  const cn = cert?.subject?.CN;
  return {
    version: socket.getProtocol() ?? '',
    cipher: socket.getCipher()?.name ?? '',
    subject: Array.isArray(cn) ? cn.join(',') : (cn ?? ''),
    fingerprint256: cert?.fingerprint256 ?? '',
  };
}
