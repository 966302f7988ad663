import net, { type AddressInfo, type Socket } from 'node:net';
import tls from 'node:tls';

/**
 * A scripted POP3 peer for fault tests: the test says exactly what goes on the wire.
 * Reads are line-based (LF-terminated, CR kept off); writes are raw bytes, so a test can
 * split, drip, inject or truncate as it likes.
 */
export class ScriptedConn {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  /** Every byte the client sent, for assertions. */
  received = Buffer.alloc(0);

  constructor(public socket: Socket) {
    this.listen(socket);
  }

  private listen(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.received = Buffer.concat([this.received, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
  }

  send(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Next line from the client, or undefined when it closed. Bounded by `ms`. */
  async readLine(ms = 5000): Promise<string | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      const lf = this.buf.indexOf(0x0a);
      if (lf >= 0) {
        const line = this.buf.subarray(0, lf).toString('utf8').replace(/\r$/, '');
        this.buf = this.buf.subarray(lf + 1);
        return line;
      }
      if (this.closed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('scripted peer: timed out waiting for a line from the client');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Read a line and fail the script unless it matches. */
  async expect(pattern: string | RegExp): Promise<string> {
    const line = await this.readLine();
    const ok = typeof pattern === 'string' ? line === pattern : line !== undefined && pattern.test(line);
    if (!ok) throw new Error(`scripted peer: expected ${String(pattern)}, got ${JSON.stringify(line)}`);
    return line!;
  }

  /** Wait until the client closes the connection (bounded). */
  async closedByClient(ms = 5000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline)
      await this.readLine(deadline - Date.now()).catch(() => undefined);
    return this.closed;
  }

  /** Upgrade this connection to TLS as the server side (after answering STLS). */
  async startTls(options: tls.TlsOptions): Promise<void> {
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    const secure = new tls.TLSSocket(this.socket, { isServer: true, ...options });
    this.socket = secure;
    this.buf = Buffer.alloc(0);
    this.listen(secure);
    await new Promise<void>((resolve) => {
      secure.once('secure', () => resolve());
      secure.once('error', () => resolve());
      secure.once('close', () => resolve());
    });
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface ScriptedPeer {
  port: number;
  /** Resolves with the script's outcome; rejects if the script threw. */
  done: Promise<void>;
  conn: Promise<ScriptedConn>;
  close(): Promise<void>;
}

/**
 * Listen on 127.0.0.1 (a free port) and run `script` for the first connection.
 * With `tlsOptions`, the listener is implicit TLS.
 */
export async function scriptedPeer(
  script: (c: ScriptedConn) => Promise<void>,
  tlsOptions?: tls.TlsOptions,
): Promise<ScriptedPeer> {
  let resolveConn!: (c: ScriptedConn) => void;
  const conn = new Promise<ScriptedConn>((r) => {
    resolveConn = r;
  });
  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => {});
  const onSocket = (socket: Socket) => {
    const c = new ScriptedConn(socket);
    resolveConn(c);
    script(c).then(resolveDone, rejectDone);
  };
  const server = tlsOptions ? tls.createServer(tlsOptions, onSocket) : net.createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    done,
    conn,
    close: () =>
      new Promise<void>((resolve) => {
        conn.then((c) => c.destroy()).catch(() => {});
        server.close(() => resolve());
        setTimeout(resolve, 1000).unref();
      }),
  };
}
