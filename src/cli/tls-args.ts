// TLS settings from the command line: --ca-file, --fingerprint, --tls-min, --insecure-tls.
// Verification is always on unless --insecure-tls says otherwise, loudly.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import type { TlsInfo } from '../client/transport.js';
import { printable } from '../protocol/errors.js';
import type { ProbedCertificate } from './cert-probe.js';
import { CliError, configError, EXIT, usageError } from './exit-codes.js';

export interface TlsArgs {
  caFile?: string;
  fingerprint?: string;
  tlsMin?: string;
  insecureTls?: boolean;
}

export interface TlsSetup {
  options: ConnectionOptions;
  /**
   * CA certificates (PEM) trusted besides the built-in roots: --ca-file's, and a pinned self-signed
   * certificate (the client's `extraCa`, which keeps the roots without re-parsing them).
   */
  extraCa: string[];
  /** The pinned SHA-256 fingerprint, `AA:BB:…`, checked again after the handshake and before login. */
  pin?: string;
  /** Lines for stderr (the --insecure-tls warning). */
  warnings: string[];
}

export const INSECURE_TLS_WARNING =
  'WARNING: --insecure-tls: the server certificate is NOT verified. Anyone on the network path can ' +
  'pose as the server and read your password and mail. Use --ca-file or --fingerprint instead.';

/** `sha256:AA:BB:…` (or the hex digits alone, colons optional) to upper-case `AA:BB:…`. */
export function normalizeFingerprint(text: string): string {
  const m = /^(?:sha256:)?((?:[0-9a-f]{2}:?){32})$/i.exec(text.trim());
  if (!m) {
    throw usageError(
      'fingerprint must be sha256: followed by 32 hex bytes (e.g. sha256:AB:CD:…; see `pop3 capa --trace`)',
    );
  }
  const hex = m[1]!.replace(/:/g, '').toUpperCase();
  return hex.match(/../g)!.join(':');
}

export function tlsMinVersion(text: string): 'TLSv1.2' | 'TLSv1.3' {
  if (text === '1.2' || text === 'TLSv1.2') return 'TLSv1.2';
  if (text === '1.3' || text === 'TLSv1.3') return 'TLSv1.3';
  throw usageError('--tls-min must be 1.2 or 1.3 (older TLS is not allowed, RFC 8996)');
}

function readCaFile(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(`cannot read CA file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (pem.length > 4 * 1024 * 1024) throw configError(`CA file ${path}: larger than 4 MiB`);
  try {
    new X509Certificate(pem);
  } catch {
    throw configError(`CA file ${path}: no PEM certificate in it`);
  }
  return pem;
}

export function buildTls(args: TlsArgs): TlsSetup {
  const options: ConnectionOptions = {};
  const warnings: string[] = [];
  if (args.tlsMin) options.minVersion = tlsMinVersion(args.tlsMin);
  // --ca-file adds to the built-in roots, it does not replace them (so not `ca`, which would).
  const extraCa = args.caFile ? [readCaFile(args.caFile)] : [];
  const pin = args.fingerprint ? normalizeFingerprint(args.fingerprint) : undefined;
  if (args.insecureTls) {
    if (pin) throw usageError('--insecure-tls and --fingerprint contradict each other: use --fingerprint');
    options.rejectUnauthorized = false;
    options.checkServerIdentity = () => undefined;
    warnings.push(INSECURE_TLS_WARNING);
  }
  return { options, extraCa, ...(pin ? { pin } : {}), warnings };
}

function pinMismatch(wanted: string, got: string | undefined): Error {
  return new Error(`certificate fingerprint ${got ?? '(none)'} does not match the pinned ${wanted}`);
}

/**
 * Trust exactly the pinned certificate (like mpop's tls_fingerprint), given what a probe saw:
 * the identity check compares the fingerprint instead of the host name, and a self-signed
 * certificate becomes the trust anchor, so OpenSSL's verification stays on. The probe's
 * certificate must match the pin, and the real connection's must match it again.
 */
export function applyPin(setup: TlsSetup, probed: ProbedCertificate): void {
  const pin = setup.pin;
  if (!pin) return;
  if (probed.fingerprint256.toUpperCase() !== pin) {
    throw new CliError(
      `TLS: server certificate sha256:${probed.fingerprint256} does not match the pinned sha256:${pin}`,
      EXIT.TLS,
    );
  }
  setup.options.checkServerIdentity = (_host: string, cert: PeerCertificate) =>
    cert.fingerprint256?.toUpperCase() === pin ? undefined : pinMismatch(pin, cert.fingerprint256);
  if (probed.chainVerified) return;
  if (!probed.selfSigned) {
    throw new CliError(
      'TLS: the pinned certificate is not self-signed and its issuer is not trusted: add its CA with --ca-file',
      EXIT.TLS,
    );
  }
  setup.extraCa.push(probed.pem);
}

/** After the handshake, before login: the certificate must be the pinned one. */
export function checkPin(info: TlsInfo | undefined, pin: string): void {
  if (!info)
    throw new CliError('a certificate fingerprint was pinned but the connection has no TLS', EXIT.TLS);
  if (info.fingerprint256.toUpperCase() !== pin) {
    throw new CliError(
      `TLS: server certificate sha256:${printable(info.fingerprint256, 100)} does not match the pinned sha256:${pin}`,
      EXIT.TLS,
    );
  }
}
