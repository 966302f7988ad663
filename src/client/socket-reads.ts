import type { Socket } from 'node:net';

/**
 * Reads land one after another in slabs of this size: under glibc's 128 KiB mmap threshold, so a
 * slab comes from the heap and its memory is used again once collected (a mapped slab costs a
 * page fault for every 4 KiB, every time).
 */
const SLAB_BYTES = 120 * 1024;
/**
 * The most a read is offered, as Node's own reads are: the connection decodes a whole read before
 * its read-ahead budget can pause the socket, so this bounds what it holds past the budget.
 */
const MAX_READ_BYTES = 64 * 1024;
/** A slab with less room left than this is replaced, so that large transfers read in large pieces. */
const MIN_READ_BYTES = 32 * 1024;
/** Octets read before anyone listens (the greeting) past which the socket stops reading. */
const MAX_EARLY_BYTES = 64 * 1024;

/**
 * A socket's reads through Node's `onread`, without a stream event per read. Each read lands in
 * the free region of a slab right after the previous one (Node asks for the next buffer after
 * every read), so the bytes of earlier reads are never written over: message bodies hand views
 * of them to their readers, who may keep them. Small reads share a slab, so what a connection
 * holds stays close to the octets it holds. A slab is freed by the garbage collector once no view
 * of it is left. Used for the cleartext sockets the client opens itself: TLS sockets gained nothing
 * from it (decryption dominates), and Node ignores `onread` when TLS wraps an existing socket
 * (STLS); those are read through 'data' events.
 */
export class SocketReads {
  #slab: Buffer = Buffer.alloc(0);
  #at = 0;
  #listener: ((chunk: Buffer) => void) | undefined;
  /** Reads that came before a listener, and their octets. */
  readonly #early: Buffer[] = [];
  #earlyBytes = 0;
  /** The socket stopped reading because too much came before a listener. */
  #heldEarly = false;

  /** For `net.connect` and `tls.connect`. */
  readonly onread = {
    buffer: (): Buffer => {
      if (this.#slab.length - this.#at < MIN_READ_BYTES) {
        this.#slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
        this.#at = 0;
      }
      return this.#slab.subarray(this.#at, Math.min(this.#at + MAX_READ_BYTES, this.#slab.length));
    },
    callback: (n: number, region: Uint8Array): boolean => {
      const chunk = Buffer.from(region.buffer, region.byteOffset, n);
      this.#at += n;
      const listener = this.#listener;
      if (listener) {
        listener(chunk);
        return true;
      }
      this.#early.push(chunk);
      this.#earlyBytes += n;
      if (this.#earlyBytes < MAX_EARLY_BYTES) return true;
      this.#heldEarly = true;
      return false; // pauses the socket until someone listens
    },
  };

  /** Octets read and not yet handed to a listener. */
  get pending(): number {
    return this.#earlyBytes;
  }

  /** From now on every read goes to `listener`, after those that came before it. */
  listen(socket: Socket, listener: (chunk: Buffer) => void): void {
    this.#listener = listener;
    const early = this.#early.splice(0);
    this.#earlyBytes = 0;
    for (const chunk of early) listener(chunk);
    if (this.#heldEarly) {
      this.#heldEarly = false;
      socket.resume();
    }
  }

  /** Reads from now on are held (not delivered) until the next `listen`. */
  unlisten(): void {
    this.#listener = undefined;
  }
}

const readsBySocket = new WeakMap<Socket, SocketReads>();

/** Records that `socket` was made with `reads.onread`. */
export function bindReads(socket: Socket, reads: SocketReads): Socket {
  readsBySocket.set(socket, reads);
  return socket;
}

/** The SocketReads a socket was made with, if it was made by our transport. */
export function readsOf(socket: Socket): SocketReads | undefined {
  return readsBySocket.get(socket);
}
