// For --fingerprint: look at the server's certificate once, without credentials, so the real
// connection can be verified by OpenSSL against exactly that certificate (node:tls offers no
// verify hook that also runs when the chain is unknown, as it is for a self-signed server).

import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls, { type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { TlsMode } from '../client/options.js';
import { CliError, EXIT } from './exit-codes.js';

export interface ProbedCertificate {
  pem: string;
  fingerprint256: string;
  /** The chain verified against the trusted CAs (the host name is not checked here). */
  chainVerified: boolean;
  selfSigned: boolean;
}

const MAX_LINE = 2048;

function fail(message: string): CliError {
  return new CliError(`certificate probe: ${message}`, EXIT.TLS);
}

/** Read one line (for the greeting and the STLS reply); bounded in size and time by the caller. */
function readLine(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const lf = buf.indexOf(0x0a);
      if (lf >= 0) {
        done();
        resolve(buf.subarray(0, lf).toString('latin1').replace(/\r$/, ''));
      } else if (buf.length > MAX_LINE) {
        done();
        reject(fail('server line too long'));
      }
    };
    const onEnd = () => {
      done();
      reject(fail('connection closed'));
    };
    const done = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
  });
}

function handshake(opts: ConnectionOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ ...opts, rejectUnauthorized: false, checkServerIdentity: () => undefined });
    sock.once('secureConnect', () => resolve(sock));
    sock.once('error', (err) => reject(fail(err.message)));
  });
}

/** Connect, do STLS when asked, and return the server's certificate. No credential is sent. */
export async function probeCertificate(
  host: string,
  port: number,
  mode: TlsMode,
  base: ConnectionOptions,
  timeoutMs: number,
): Promise<ProbedCertificate> {
  const servername = net.isIP(host) ? undefined : host;
  const sockets: net.Socket[] = [];
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(fail(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  const work = async (): Promise<ProbedCertificate> => {
    let secure: TLSSocket;
    if (mode === 'implicit') {
      secure = await handshake({ ...base, host, port, ...(servername ? { servername } : {}) });
    } else {
      const plain = net.connect({ host, port });
      sockets.push(plain);
      await new Promise<void>((resolve, reject) => {
        plain.once('connect', resolve);
        plain.once('error', (err) => reject(fail(err.message)));
      });
      if (!(await readLine(plain)).startsWith('+OK')) throw fail('the server did not greet with +OK');
      plain.write('STLS\r\n');
      if (!(await readLine(plain)).startsWith('+OK')) throw fail('the server refused STLS');
      secure = await handshake({ ...base, socket: plain, ...(servername ? { servername } : {}) });
    }
    sockets.push(secure);
    const peer = secure.getPeerCertificate();
    if (!peer?.raw) throw fail('the server sent no certificate');
    const x509 = new X509Certificate(peer.raw);
    const pem = x509.toString();
    return {
      pem,
      fingerprint256: x509.fingerprint256,
      chainVerified: secure.authorized,
      selfSigned: x509.checkIssued(x509) && x509.verify(x509.publicKey),
    };
  };
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
    // The TLS socket first: destroying the plain socket under a live TLSSocket made from it
    // crashed Node 20 (SIGSEGV) in the next handshake.
    for (const s of sockets.reverse()) s.destroy();
  }
}
