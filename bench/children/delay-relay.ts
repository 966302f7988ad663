// A TCP relay on loopback that holds every chunk for `delayMs` in each direction, in order, with
// no bandwidth cap: a link with a round-trip time of 2 x delayMs (this kernel has no netem).
// delayMs 0 forwards each chunk at once (the control). Stops by itself after maxSeconds, or when
// stdin closes (the harness went away). Prints {"port": N} once listening.
import net from 'node:net';

interface RelayArgs {
  targetHost: string;
  targetPort: number;
  delayMs: number;
  maxSeconds: number;
}

/** Octets held in one direction before the sender is paused (TCP backpressure does the rest). */
const MAX_QUEUED = 64 * 1024 * 1024;

const args = JSON.parse(process.argv[2] ?? '{}') as RelayArgs;
setTimeout(() => process.exit(0), args.maxSeconds * 1000).unref();
process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0));
process.stdin.resume();

function delayedPipe(from: net.Socket, to: net.Socket): void {
  const queue: { due: number; chunk: Buffer }[] = [];
  let queued = 0;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.due <= now) {
      const { chunk } = queue.shift()!;
      queued -= chunk.length;
      to.write(chunk);
    }
    if (queued < MAX_QUEUED && !to.writableNeedDrain) from.resume();
    if (queue.length > 0) timer = setTimeout(flush, Math.max(0, queue[0]!.due - performance.now()));
    else if (ended) to.end();
  };
  from.on('data', (chunk: Buffer) => {
    queue.push({ due: performance.now() + args.delayMs, chunk });
    queued += chunk.length;
    if (queued >= MAX_QUEUED) from.pause();
    if (args.delayMs === 0) flush();
    else timer ??= setTimeout(flush, args.delayMs);
  });
  to.on('drain', () => {
    if (queued < MAX_QUEUED) from.resume();
  });
  from.on('end', () => {
    ended = true;
    if (queue.length === 0 && timer === undefined) to.end();
  });
}

// Half-open sockets: each direction ends only after its delayed queue has drained.
const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
  const upstream = net.connect({
    host: args.targetHost,
    port: args.targetPort,
    noDelay: true,
    allowHalfOpen: true,
  });
  const destroy = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', destroy);
  upstream.on('error', destroy);
  delayedPipe(client, upstream);
  delayedPipe(upstream, client);
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (typeof addr !== 'object' || !addr) process.exit(1);
  process.stdout.write(`${JSON.stringify({ port: addr.port })}\n`);
});
