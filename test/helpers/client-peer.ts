// Client tests against a scripted peer (scripted-peer.ts): the usual session opening (greeting,
// then the CAPA a client sends first), the peers of a test file (closed after each test), a client
// connected with short timeouts, and small readers of what came back or went out.

import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type tls from 'node:tls';
import { expect } from 'vitest';
import { Pop3Client } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { Pop3Error } from '../../src/protocol/errors.js';
import { type ScriptedConn, type ScriptedPeer, scriptedPeer } from './scripted-peer.js';

/** Every client timeout short, so a test that goes wrong fails in seconds. */
export const FAST_TIMEOUTS = { connect: 2000, greeting: 2000, command: 2000, idle: 2000 };

/** What a plain scripted peer advertises unless a test says otherwise. */
export const BASIC_CAPA = ['USER', 'UIDL', 'TOP'];

/** The multi-line +OK answer to CAPA that lists `lines`. */
export function capaReply(lines: string[]): string {
  return `+OK\r\n${lines.map((l) => `${l}\r\n`).join('')}.\r\n`;
}

export interface Opening {
  /** The greeting line, without CRLF (default `+OK POP3 ready`). */
  greeting?: string;
  /** The capabilities to answer CAPA with (default BASIC_CAPA); null answers -ERR (no extensions). */
  capa?: string[] | null;
}

/** Send the greeting, wait for the client's CAPA and answer it. */
export async function sendOpening(c: ScriptedConn, opening: Opening = {}): Promise<void> {
  c.send(`${opening.greeting ?? '+OK POP3 ready'}\r\n`);
  await c.expect('CAPA');
  const capa = opening.capa === undefined ? BASIC_CAPA : opening.capa;
  c.send(capa ? capaReply(capa) : '-ERR unknown command\r\n');
}

/** Answer a USER/PASS login (PASS with `passReply`, default +OK), then the CAPA a client sends after it. */
export async function acceptUserPass(
  c: ScriptedConn,
  login: { user: string; pass: string; capa: string[]; passReply?: string },
): Promise<void> {
  await c.expect(`USER ${login.user}`);
  c.send('+OK\r\n');
  await c.expect(`PASS ${login.pass}`);
  c.send(`${login.passReply ?? '+OK'}\r\n`);
  await c.expect('CAPA');
  c.send(capaReply(login.capa));
}

/** The scripted peers one test file starts; call closeAll() after each test. */
export class PeerSet {
  private readonly peers: ScriptedPeer[] = [];

  /** A peer running `script` for its connection (implicit TLS with `tlsOptions`). */
  async start(
    script: (c: ScriptedConn) => Promise<void>,
    tlsOptions?: tls.TlsOptions,
  ): Promise<ScriptedPeer> {
    const peer = await scriptedPeer(script, tlsOptions);
    this.peers.push(peer);
    return peer;
  }

  /** A peer that sends `opening`, then runs `rest`. */
  serve(
    rest: (c: ScriptedConn) => Promise<void>,
    opening: Opening = {},
    tlsOptions?: tls.TlsOptions,
  ): Promise<ScriptedPeer> {
    return this.start(async (c) => {
      await sendOpening(c, opening);
      await rest(c);
    }, tlsOptions);
  }

  /** A peer that answers each expected command with its reply, in order, then waits for the client to go. */
  answering(pairs: [string | RegExp, string][], opening: Opening = {}): Promise<ScriptedPeer> {
    return this.serve(async (c) => {
      for (const [command, reply] of pairs) {
        await c.expect(command);
        c.send(reply);
      }
      await c.readLine(2000).catch(() => undefined);
    }, opening);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.peers.splice(0).map((p) => p.close()));
  }
}

/** A client of 127.0.0.1:`port` with FAST_TIMEOUTS; `options` say the rest and may override them. */
export function connectTo(port: number, options: Partial<ClientOptions>): Promise<Pop3Client> {
  return Pop3Client.connect({ host: '127.0.0.1', port, timeouts: FAST_TIMEOUTS, ...options });
}

/** A plain-TCP client that may log in without TLS: what a plain scripted peer expects. */
export function connectPlain(port: number, extra: Partial<ClientOptions> = {}): Promise<Pop3Client> {
  return connectTo(port, { tls: 'none', allowInsecureAuth: true, ...extra });
}

/** The Pop3Error `p` rejects with (the test fails if it resolves or rejects with anything else). */
export async function failure(p: Promise<unknown>): Promise<Pop3Error> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Pop3Error);
  return err as Pop3Error;
}

/** What the client sent, once it has closed the connection (waits 2 s at most). */
export async function sentBy(peer: ScriptedPeer): Promise<string> {
  const c = await peer.conn;
  await c.closedByClient(2000);
  return c.received.toString('latin1');
}

/** A message body read to its end. */
export async function readAll(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts);
}

/** Resolve on 'drain' or 'close', whichever comes first. */
export function drainOrClose(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until `done()` holds, polling every millisecond, for at most `ms`. */
export async function until(done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await sleep(1);
}
