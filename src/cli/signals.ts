// Ctrl-C and SIGTERM: by default drop every open connection without QUIT (so nothing marked
// deleted is deleted) and exit 130/143. Commands with their own shutdown (serve, fetch --daemon)
// push a handler; a second signal always exits at once.

import { closeAllSessions } from './open-clients.js';

type Handler = (signal: NodeJS.Signals) => void;
const handlers: Handler[] = [];
let installed = false;
let received = 0;

function defaultHandler(signal: NodeJS.Signals): void {
  closeAllSessions();
  process.stderr.write('\npop3: interrupted\n');
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      received++;
      if (received > 1) process.exit(sig === 'SIGINT' ? 130 : 143);
      (handlers.at(-1) ?? defaultHandler)(sig);
    });
  }
}

/** Use `handler` for signals until the returned function is called. */
export function onSignal(handler: Handler): () => void {
  handlers.push(handler);
  return () => {
    const i = handlers.lastIndexOf(handler);
    if (i >= 0) handlers.splice(i, 1);
    received = 0;
  };
}
