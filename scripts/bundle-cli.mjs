// The `pop3` command as users run it: tsc's dist/cli/main.js and everything it imports (our modules
// and the npm packages) bundled by esbuild into dist/bin/: pop3.js plus chunks, split at each
// dynamic import, so a command still loads only its own code (src/cli/lazy.ts) but as a handful of
// files instead of ~95 modules to resolve, read and compile one by one (about 0.07 s of CPU at
// every start). `npm run build` runs it after tsc; the tests, the interop suite and the benchmark
// run dist/bin/pop3.js. The library entry points (dist/index.js, dist/server/index.js) stay
// tsc's output.
//   node scripts/bundle-cli.mjs [dist folder]      (default: dist)
// Also writes dist/bin/modules.json: for each output file, the modules bundled into it (paths
// relative to the project), which is how the start-up test sees what a run loaded.
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const dist = resolve(process.argv[2] ?? join(root, 'dist'));
const out = join(dist, 'bin');
rmSync(out, { recursive: true, force: true });

const result = await build({
  entryPoints: { pop3: join(dist, 'cli', 'main.js') },
  absWorkingDir: root,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: out,
  // Chunks beside pop3.js: program.ts finds package.json at ../../ from whichever file holds it.
  chunkNames: '[name]-[hash]',
  // The npm packages are CommonJS: their require() of Node's modules needs a real require.
  banner: {
    js: "import { createRequire as __pop3CreateRequire } from 'node:module'; const require = __pop3CreateRequire(import.meta.url);",
  },
  metafile: true,
  logLevel: 'warning',
});

const modules = {};
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (!file.endsWith('.js')) continue;
  modules[basename(file)] = Object.keys(output.inputs).map((input) => relative(root, resolve(root, input)));
}
writeFileSync(join(out, 'modules.json'), `${JSON.stringify(modules, null, 1)}\n`);
chmodSync(join(out, 'pop3.js'), 0o755);
// The bin before the bundle. npx keeps a link per local checkout in its cache, and a link made
// then still points here; tsc does not mark it executable, so without this such a cached
// `npx pop3` fails with "Permission denied" instead of running the (unbundled) same command.
chmodSync(join(dist, 'cli', 'main.js'), 0o755);
