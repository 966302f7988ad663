// Clients currently open, so Ctrl-C or a closed stdout can drop them without QUIT (nothing marked
// deleted is deleted). Kept apart from session.ts so the signal handlers, installed at start-up,
// do not load the client.

const open = new Set<{ close(): void }>();

export function trackClient(client: { close(): void }): void {
  open.add(client);
}

export function untrackClient(client: { close(): void }): void {
  open.delete(client);
}

export function closeAllSessions(): void {
  for (const c of open) c.close();
  open.clear();
}
