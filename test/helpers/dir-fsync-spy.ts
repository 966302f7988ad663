import { vi } from 'vitest';
import type * as IoModule from '../../src/mailstore/io.js';

type Io = typeof IoModule;

/**
 * For `vi.mock` of src/mailstore/io.js: the same module with its directory fsyncs wrapped in spies
 * that still run them. A power cut cannot be simulated, but whether a folder was fsynced can be seen.
 */
export function withDirFsyncSpies(io: Io): Io {
  return { ...io, fsyncDir: vi.fn(io.fsyncDir), fsyncDirSync: vi.fn(io.fsyncDirSync) };
}

/** Folders fsynced through the spied module since `forgetDirFsyncs`: [async calls, sync calls]. */
export function dirFsyncs(io: Io): { async: string[]; sync: string[]; all: string[] } {
  const async = vi.mocked(io.fsyncDir).mock.calls.map((c) => String(c[0]));
  const sync = vi.mocked(io.fsyncDirSync).mock.calls.map((c) => String(c[0]));
  return { async, sync, all: [...async, ...sync] };
}

export function forgetDirFsyncs(io: Io): void {
  vi.mocked(io.fsyncDir).mockClear();
  vi.mocked(io.fsyncDirSync).mockClear();
}
