import { createRequire } from 'node:module';
import { Command } from 'commander';
import { registerCapa } from './commands/capa.js';
import { registerDele } from './commands/dele.js';
import { registerDemo } from './commands/demo.js';
import { registerFetch } from './commands/fetch.js';
import { registerInbox } from './commands/inbox.js';
import { registerListing } from './commands/listing.js';
import { registerRetr } from './commands/retr.js';
import { registerServe } from './commands/serve.js';
import { registerShell } from './commands/shell.js';
import { registerStat } from './commands/stat.js';
import { registerTop } from './commands/top.js';
import { registerUsers } from './commands/users.js';
import { PROGRAM_AFTER, PROGRAM_DESCRIPTION } from './help-text.js';

export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version;

/** The `pop3` program with every command. Commander's own exits are turned into exceptions. */
export function buildProgram(): Command {
  const program = new Command('pop3')
    .description(PROGRAM_DESCRIPTION)
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showHelpAfterError('(pop3 <command> --help shows the usage)')
    .configureOutput({ outputError: (text, write) => write(`pop3: ${text.replace(/^error: /, '')}`) })
    .addHelpText('after', PROGRAM_AFTER);
  program.commandsGroup('Look at a mailbox:');
  registerInbox(program);
  registerStat(program);
  registerListing(program, 'list');
  registerListing(program, 'uidl');
  registerTop(program);
  registerRetr(program);
  registerDele(program);
  registerCapa(program);
  registerShell(program);
  program.commandsGroup('Fetch mail:');
  registerFetch(program);
  program.commandsGroup('Run a server:');
  registerServe(program);
  registerUsers(program);
  program.commandsGroup('Learn:');
  registerDemo(program);
  return program;
}
