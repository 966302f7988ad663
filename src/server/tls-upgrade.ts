import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContext, type SecureContextOptions, TLSSocket } from 'node:tls';

const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

/** A server SecureContext that never allows less than TLS 1.2 (RFC 8996, CONFORMANCE S17). */
export function serverSecureContext(opts: SecureContextOptions): SecureContext {
  const asked = opts.minVersion ? TLS_VERSIONS.indexOf(opts.minVersion) : -1;
  const minVersion = asked > TLS_VERSIONS.indexOf('TLSv1.2') ? opts.minVersion : 'TLSv1.2';
  return createSecureContext({ ...opts, minVersion });
}

/**
 * Run the server side of a TLS handshake over `raw` (implicit TLS, or right after the STLS +OK).
 * Resolves with the TLS socket once the handshake is done; rejects on failure or after `timeoutMs`
 * and destroys the connection either way (CVE-2011-1947, CVE-2014-3430: a stalled handshake must not
 * hold the slot). The caller must have stopped reading `raw` and checked that no plaintext is
 * buffered: TLS takes over the socket's handle, and bytes already read would be lost to it.
 */
export function upgradeToTls(raw: Duplex, context: SecureContext, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = new TLSSocket(raw, { isServer: true, secureContext: context, requestCert: false });
    const fail = (err: Error) => {
      cleanup();
      socket.destroy();
      raw.destroy();
      reject(err);
    };
    const onError = (err: Error) => fail(err);
    const onClose = () => fail(new Error('connection closed during the TLS handshake'));
    // A peer that sends FIN mid-handshake can never finish it. The TLS socket owns the handle and the
    // listener allows half-open connections, so it reports only 'end': without this, such a peer kept
    // its session and connection slot until the handshake timeout.
    const onEnd = () => fail(new Error('connection ended during the TLS handshake'));
    const timer = setTimeout(() => fail(new Error('TLS handshake timed out')), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('secure', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('end', onEnd);
    };
    const onSecure = () => {
      cleanup();
      // Errors after the handshake end the session through 'close'; this keeps one emitted before
      // the caller attaches its own listener from becoming an uncaught exception.
      socket.on('error', () => {});
      resolve(socket);
    };
    socket.on('secure', onSecure);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('end', onEnd);
  });
}
