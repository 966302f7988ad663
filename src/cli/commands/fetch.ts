import type { Command } from 'commander';
import { addConnectionOptions, addOptionGroup } from '../connection-options.js';
import { lazyAction } from '../lazy.js';

export function registerFetch(program: Command): void {
  const cmd = program
    .command('fetch')
    .summary('download new mail exactly once into a Maildir, mbox, MDA or stdout')
    .argument('[url]', 'pop3s://user@host[:port] (default: the accounts in the config file)');
  addOptionGroup(cmd, 'Fetch:', [
    ['--maildir <dir>', 'deliver into this Maildir (default ~/Maildir; created if missing)'],
    ['--mbox <file>', 'append to this mbox (mboxrd quoting, locked)'],
    ['--mda <command>', 'run COMMAND (via the shell) per message, message on stdin; exit 0 = delivered'],
    ['--stdout', 'write the messages to stdout as an mboxrd stream (no state is kept)'],
    ['--delete', 'delete each message on the server once it is safely delivered'],
    ['--keep', 'keep messages on the server (the default; overrides delete = true)'],
    ['--delete-after-days <n>', 'keep mode: delete messages first fetched N or more days ago'],
    ['--max-size <size>', 'do not download messages bigger than SIZE (e.g. 10M)'],
    ['--oversized <action>', 'what to do with those: skip (default, ask again next run) or delete'],
    ['--limit <n>', 'download at most N new messages this run'],
    ['--received-header', 'add a Received: header naming the server and the UID'],
    [
      '--state-dir <dir>',
      'where seen-UID state, journal and locks live (default ~/.local/state/pop3kit/fetch)',
    ],
    ['--daemon <seconds>', 'keep running: poll every N seconds (never sooner than LOGIN-DELAY)'],
    ['--concurrency <n>', 'accounts fetched at the same time (default 4)'],
    ['--no-progress', 'no progress bar, even on a terminal'],
  ]);
  addConnectionOptions(cmd, { json: true, manyAccounts: true });
  cmd.addHelpText(
    'after',
    `
Exactly once: each message is written and flushed to the target, made visible, and its UID
recorded durably before it may be deleted on the server; a journal closes the window in
between, so a crash or kill at any moment neither loses nor duplicates a message. Only
messages whose UID was not seen before are downloaded. One fetcher per account at a time.

Without a URL, --host or --account, every account in the config file is fetched, several at
once; one account's failure does not stop the others. On a terminal a progress bar shows
messages, bytes and rate; otherwise one summary line per account is printed on stderr.

Examples:
  pop3 fetch pop3s://alice@mail.example.com --maildir ~/Mail/inbox
  pop3 fetch --account work --delete
  pop3 fetch --mbox ~/mail/inbox.mbox --max-size 20M --limit 500
  pop3 fetch --mda 'procmail -d alice' --delete-after-days 30
  pop3 fetch --daemon 300                     # all configured accounts, every 5 minutes`,
  );
  cmd.action(lazyAction(() => import('../actions/fetch.js')));
}
