// Trusting a CA in addition to the built-in roots. node:tls's `ca` option replaces the roots, so the
// obvious way to add one is `ca: [...tls.rootCertificates, pem]`, which has Node parse all ~145
// built-in PEM certificates again, one by one, for every secure context: about 25 ms of CPU per
// connection (more under a profiler), a fixed cost of every `pop3 --ca-file` run. Instead, the
// secure context is made without `ca` (it then uses the default root store, parsed once per
// process: Node's bundled roots, or OpenSSL's with --use-openssl-ca) and the extra certificates are
// added to it: Node first gives the context its own copy of that store, so nothing else sees them.
// (As with `ca`, NODE_EXTRA_CA_CERTS is not in that copy on Node 20.)
import tls, { type ConnectionOptions, type SecureContext } from 'node:tls';

/** The native side of a SecureContext, as Node 20+ has it; not part of the documented API. */
interface NativeContext {
  addCACert?: (pem: string | Buffer) => void;
}

export type CaCertificate = string | Buffer;

/**
 * Connection options that trust `extra` besides what `opts` already trusts. When `opts.ca` is
 * given (the caller replaced the roots), the extra certificates join that list. Otherwise a
 * secure context is built from `opts` (minVersion, ciphers, cert, ... all apply) with the default
 * roots, and `extra` is added to it. On a Node without the native hook, it falls back to
 * `ca: [...tls.rootCertificates, ...extra]` (same trust, slower).
 */
export function withExtraCa(opts: ConnectionOptions, extra: readonly CaCertificate[]): ConnectionOptions {
  if (extra.length === 0) return opts;
  if (opts.secureContext) {
    throw new TypeError(
      'extraCa cannot be combined with tlsOptions.secureContext: add the CA to that context',
    );
  }
  if (opts.ca !== undefined)
    return { ...opts, ca: [...(Array.isArray(opts.ca) ? opts.ca : [opts.ca]), ...extra] };
  const secureContext: SecureContext = tls.createSecureContext(opts);
  const native = (secureContext as { context?: NativeContext }).context;
  if (typeof native?.addCACert !== 'function') return { ...opts, ca: [...tls.rootCertificates, ...extra] };
  for (const pem of extra) native.addCACert(pem);
  return { ...opts, secureContext };
}
