import type { Command } from 'commander';
import { Option } from 'commander';
import { addConnectionOptions } from '../connection-options.js';
import { lazyAction } from '../lazy.js';

export function registerFetch(program: Command): void {
  const cmd = program
    .command('fetch')
    .summary('download new mail exactly once into a Maildir, mbox, MDA or stdout')
    .argument('[url]', 'pop3s://user@host[:port] (default: the accounts in the config file)');
  const add = (o: Option) => cmd.addOption(o.helpGroup('Fetch:'));
  add(new Option('--maildir <dir>', 'deliver into this Maildir (default ~/Maildir; created if missing)'));
  add(new Option('--mbox <file>', 'append to this mbox (mboxrd quoting, locked)'));
  add(
    new Option(
      '--mda <command>',
      'run COMMAND (via the shell) per message, message on stdin; exit 0 = delivered',
    ),
  );
  add(new Option('--stdout', 'write the messages to stdout as an mboxrd stream (no state is kept)'));
  add(new Option('--delete', 'delete each message on the server once it is safely delivered'));
  add(new Option('--keep', 'keep messages on the server (the default; overrides delete = true)'));
  add(new Option('--delete-after-days <n>', 'keep mode: delete messages first fetched N or more days ago'));
  add(new Option('--max-size <size>', 'do not download messages bigger than SIZE (e.g. 10M)'));
  add(
    new Option('--oversized <action>', 'what to do with those: skip (default, ask again next run) or delete'),
  );
  add(new Option('--limit <n>', 'download at most N new messages this run'));
  add(new Option('--received-header', 'add a Received: header naming the server and the UID'));
  add(
    new Option(
      '--state-dir <dir>',
      'where seen-UID state, journal and locks live (default ~/.local/state/pop3kit/fetch)',
    ),
  );
  add(new Option('--daemon <seconds>', 'keep running: poll every N seconds (never sooner than LOGIN-DELAY)'));
  add(new Option('--concurrency <n>', 'accounts fetched at the same time (default 4)'));
  add(new Option('--no-progress', 'no progress bar, even on a terminal'));
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
