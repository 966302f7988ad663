import type { Command } from 'commander';
import { addConnectionOptions, type ConnectFlags } from '../connection-options.js';

/** `pop3 list` and `pop3 uidl`: one command shape, LIST or UIDL on the wire. */
export type ListingKind = 'list' | 'uidl';

const HELP: Record<ListingKind, { summary: string; after: string }> = {
  list: {
    summary: 'message numbers and sizes (LIST)',
    after: `
Sizes are in octets as the server counts them (RFC 1939: line ends as CRLF).

Examples:
  pop3 list pop3s://alice@mail.example.com
  pop3 list 3 pop3s://alice@mail.example.com --json    # {"n": 3, "octets": 1204}`,
  },
  uidl: {
    summary: 'unique ids of the messages (UIDL)',
    after: `
A message's number changes between sessions; its unique id does not (RFC 1939 §7).

Examples:
  pop3 uidl pop3s://alice@mail.example.com
  pop3 uidl 1 --account work --json       # {"n": 1, "uid": "..."}`,
  },
};

export function registerListing(program: Command, kind: ListingKind): void {
  const cmd = program
    .command(kind)
    .summary(HELP[kind].summary)
    .argument('[n]', 'only this message')
    .argument('[url]', 'pop3s://user@host[:port]');
  addConnectionOptions(cmd, { json: true });
  cmd.addHelpText('after', HELP[kind].after);
  cmd.action(async (a: string | undefined, b: string | undefined, flags: ConnectFlags) =>
    (await import('../actions/listing.js')).run(kind, a, b, flags),
  );
}
