// The bench's own child programs (raw socket reader, client sink, delay relay, session holder,
// floor server)
// are TypeScript; they are bundled to plain .mjs once per harness run so the measured processes
// pay for neither a TypeScript loader nor its memory. The client sink bundles src/ as it stands.
// Bundles are self-contained, so they live outside the repository (out of the linter's way).
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = dirname(dirname(fileURLToPath(import.meta.url)));
export const BUILD_DIR = join(tmpdir(), `pop3kit-bench-children-${process.getuid?.() ?? 'user'}`);

export const CHILDREN = ['raw-pop3', 'client-sink', 'delay-relay', 'session-holder', 'floor-pop3'] as const;
export type ChildName = (typeof CHILDREN)[number];

export function childPath(name: ChildName): string {
  return join(BUILD_DIR, `${name}.mjs`);
}

export async function buildChildren(): Promise<void> {
  // esbuild comes with tsx (a devDependency); imported lazily so the rest of the bench loads without it.
  const { build } = await import('esbuild');
  await mkdir(BUILD_DIR, { recursive: true });
  await build({
    entryPoints: CHILDREN.map((name) => join(BENCH, 'children', `${name}.ts`)),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: BUILD_DIR,
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  });
}
