// Commands are defined at start-up (names, arguments, options, help: what `pop3 --help` and
// `pop3 <cmd> --help` print) but their code is imported only when they run, so `pop3 --version`
// or `pop3 fetch` do not load the server, libmime, cli-progress and the rest of the CLI.

/** A commander action that imports its implementation (`run`) when the command is run. */
export function lazyAction<A extends unknown[]>(
  load: () => Promise<{ run: (...args: A) => Promise<void> }>,
): (...args: A) => Promise<void> {
  return async (...args) => (await load()).run(...args);
}
