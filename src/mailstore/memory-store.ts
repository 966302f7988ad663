import { Readable } from 'node:stream';
import { Pop3Error } from '../protocol/errors.js';
import { wireOctets } from '../protocol/wire-size.js';
import {
  type Mailbox,
  MailboxBusyError,
  type MailStore,
  type MessageInfo,
  type ReadTarget,
} from './types.js';

/** A message held by MemoryStore: its info plus its stored bytes. */
export interface MemoryMessage extends MessageInfo {
  readonly bytes: Buffer;
}

/**
 * An in-process mail store for tests and the demo. UIDs come from one counter per store, so
 * they are stable for the store's life and never reused; one session per user at a time.
 */
export class MemoryStore implements MailStore {
  readonly #users = new Map<string, MemoryMessage[]>();
  readonly #locked = new Set<string>();
  #next = 1;

  /** Add a message (a string is stored as UTF-8); returns its uid. */
  add(user: string, message: Uint8Array | string): string {
    const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : Buffer.from(message);
    const uid = `m${this.#next++}`;
    const list = this.#users.get(user) ?? [];
    list.push({ uid, octets: wireOctets(bytes), bytes });
    this.#users.set(user, list);
    return uid;
  }

  /** The user's current messages (copies), in delivery order. */
  list(user: string): MemoryMessage[] {
    return (this.#users.get(user) ?? []).map((m) => ({
      uid: m.uid,
      octets: m.octets,
      bytes: Buffer.from(m.bytes),
    }));
  }

  /** True while a session holds the user's maildrop. */
  isLocked(user: string): boolean {
    return this.#locked.has(user);
  }

  async openMailbox(user: string): Promise<Mailbox> {
    if (this.#locked.has(user)) throw new MailboxBusyError();
    this.#locked.add(user);
    const snapshot = [...(this.#users.get(user) ?? [])];
    return new MemoryMailbox(snapshot, {
      remove: (uids) => {
        const list = this.#users.get(user) ?? [];
        this.#users.set(
          user,
          list.filter((m) => !uids.has(m.uid)),
        );
      },
      unlock: () => {
        this.#locked.delete(user);
      },
    });
  }
}

interface MemoryHooks {
  remove(uids: ReadonlySet<string>): void;
  unlock(): void;
}

class MemoryMailbox implements Mailbox {
  readonly messages: readonly MessageInfo[];
  readonly #byUid: ReadonlyMap<string, MemoryMessage>;
  readonly #hooks: MemoryHooks;
  #released = false;
  #committed = false;

  constructor(snapshot: MemoryMessage[], hooks: MemoryHooks) {
    this.messages = Object.freeze(snapshot.map((m) => Object.freeze({ uid: m.uid, octets: m.octets })));
    this.#byUid = new Map(snapshot.map((m) => [m.uid, m]));
    this.#hooks = hooks;
  }

  async open(uid: string): Promise<Readable> {
    const m = this.#message(uid);
    return Readable.from([m.bytes], { objectMode: false });
  }

  /** The stored bytes, copied into `target`, when at most `maxBytes`; else -1. */
  readSmall(uid: string, maxBytes: number, target: ReadTarget): number {
    const m = this.#message(uid);
    if (m.bytes.length > maxBytes) return -1;
    const at = target.room(m.bytes.length);
    return m.bytes.copy(target.buffer, at);
  }

  #message(uid: string): MemoryMessage {
    if (this.#released) throw new Pop3Error('mailbox already released', { code: 'ESTATE' });
    const m = this.#byUid.get(uid);
    if (!m) throw new Pop3Error('no such message in this snapshot', { code: 'EARGUMENT' });
    return m;
  }

  async commit(deleted: readonly string[]): Promise<{ notRemoved: string[] }> {
    if (this.#released || this.#committed)
      throw new Pop3Error('mailbox already committed or released', { code: 'ESTATE' });
    this.#committed = true;
    const remove = new Set<string>();
    const notRemoved: string[] = [];
    for (const uid of deleted) {
      // Only messages of this session's snapshot can be removed by it.
      if (this.#byUid.has(uid)) remove.add(uid);
      else notRemoved.push(uid);
    }
    this.#hooks.remove(remove);
    return { notRemoved };
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#hooks.unlock();
  }
}
