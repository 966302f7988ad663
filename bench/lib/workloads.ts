// The workloads of issue 5 and, for each, which client runs against which server, and which lane
// each is compared with. A lane id is `<contender>@<server>`.
import { GiB, KiB, type MailboxSpec, MiB } from './mailbox.js';

export type WorkloadId = 'a' | 'b' | 'c0' | 'c' | 'd' | 'e';
export const WORKLOAD_IDS: WorkloadId[] = ['a', 'b', 'c0', 'c', 'd', 'e'];
export type ServerName = 'dovecot' | 'ours' | 'floor';
export const SERVER_NAMES: ServerName[] = ['dovecot', 'ours', 'floor'];
export type ContenderName = 'mpop' | 'pop3-fetch' | 'fetchmail' | 'poplib' | 'raw-socket' | 'client-sink';
export const CONTENDER_NAMES: ContenderName[] = [
  'mpop',
  'pop3-fetch',
  'fetchmail',
  'poplib',
  'raw-socket',
  'client-sink',
];

export type MailboxKey = 'small' | 'big' | 'huge';
export const MAILBOXES: Record<MailboxKey, MailboxSpec> = {
  small: { user: 'wa', count: 2000, size: 8 * KiB },
  big: { user: 'wb', count: 10, size: 20 * MiB },
  huge: { user: 'wd', count: 1, size: 1 * GiB },
};

export interface LaneSpec {
  contender: ContenderName;
  server: ServerName;
  /** Lane id this one is compared with, run by run; none for a reference lane. */
  ref?: string;
}

export interface Workload {
  id: WorkloadId;
  title: string;
  mailbox: MailboxKey;
  /** Through the delay relay, this many ms each way. */
  relayDelayMs?: number;
  /** Runs per lane unless --runs says otherwise. */
  runs: number;
  /** Deadline of one run of one lane. */
  timeoutMs: number;
  lanes: LaneSpec[];
}

export const laneId = (l: LaneSpec) => `${l.contender}@${l.server}`;

/** Clients are compared with mpop, except our library's sink, which is compared with the raw socket. */
const clientRef = (c: ContenderName) =>
  c === 'mpop' ? {} : { ref: c === 'client-sink' ? 'raw-socket@dovecot' : 'mpop@dovecot' };
const clients = (names: ContenderName[]): LaneSpec[] =>
  names.map((contender) => ({ contender, server: 'dovecot', ...clientRef(contender) }));
const servers = (names: ContenderName[]): LaneSpec[] =>
  names.map((contender) => ({ contender, server: 'ours', ref: `${contender}@dovecot` }));
/** mpop from the floor server: the least time any server could give it (compared with Dovecot too). */
const FLOOR: LaneSpec = { contender: 'mpop', server: 'floor', ref: 'mpop@dovecot' };

const ALL_CLIENTS: ContenderName[] = [
  'mpop',
  'pop3-fetch',
  'fetchmail',
  'poplib',
  'raw-socket',
  'client-sink',
];
const MIN = 60_000;

export const WORKLOADS: Record<WorkloadId, Workload> = {
  a: {
    id: 'a',
    title: '(a) 2000 messages x 8 KiB',
    mailbox: 'small',
    // A run takes a few tenths of a second, so ten are cheap; with five, the two sessions after the
    // warm-up that a fresh server still spends compiling (and this VM's noise) were 2 of 5 samples.
    runs: 10,
    timeoutMs: 10 * MIN,
    lanes: [...clients(ALL_CLIENTS), ...servers(['mpop', 'pop3-fetch']), FLOOR],
  },
  b: {
    id: 'b',
    title: '(b) 10 messages x 20 MiB',
    mailbox: 'big',
    runs: 3,
    timeoutMs: 10 * MIN,
    lanes: [...clients(ALL_CLIENTS), ...servers(['mpop', 'pop3-fetch']), FLOOR],
  },
  c0: {
    id: 'c0',
    title: '(c0) workload a through the relay at 0 ms (control)',
    mailbox: 'small',
    relayDelayMs: 0,
    runs: 5,
    timeoutMs: 15 * MIN,
    lanes: clients(ALL_CLIENTS),
  },
  c: {
    id: 'c',
    title: '(c) workload a through the relay at 10 ms each way (20 ms RTT)',
    mailbox: 'small',
    relayDelayMs: 10,
    runs: 5,
    timeoutMs: 15 * MIN,
    lanes: clients(ALL_CLIENTS),
  },
  d: {
    id: 'd',
    title: '(d) one 1 GiB message',
    mailbox: 'huge',
    runs: 3,
    timeoutMs: 20 * MIN,
    lanes: [...clients(['mpop', 'pop3-fetch', 'raw-socket', 'client-sink']), ...servers(['mpop'])],
  },
  e: {
    id: 'e',
    title: '(e) 5,000 concurrent logged-in sessions on our server, then a fetch through',
    mailbox: 'small',
    runs: 1,
    timeoutMs: 20 * MIN,
    lanes: [],
  },
};
