// What the built `pop3` loads at start-up: each command's code is imported only when that
// command runs (see src/cli/lazy.ts), so `--version`, `--help` and a data command must not pull
// in the server, libmime, iconv-lite, cli-progress or the TOML parser. A preload (NODE_OPTIONS
// --import) records every module the process loads: ESM through a loader hook, CommonJS from
// require's cache at exit. The bin is a bundle (scripts/bundle-cli.mjs): each of its files loaded
// counts as every module bundled into it, as its modules.json lists them.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, PASSWORD, runCli, startServer, type TestServer, tempDir, USER } from './cli-harness.js';

const HOOKS = `import { appendFileSync } from 'node:fs';
let out;
export function initialize(data) { out = data.out; }
export async function load(url, context, next) {
  appendFileSync(out, url + '\\n');
  return next(url, context);
}
`;
const PRELOAD = `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
const out = process.env.POP3_TEST_MODULES_OUT;
register('./hooks.mjs', import.meta.url, { data: { out } });
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(out, Object.keys(require.cache).map((k) => k + '\\n').join('')));
`;

/** Heavy modules, by the path fragment that identifies them, and why a start-up must not load them. */
const HEAVY = {
  libmime: '/node_modules/libmime/',
  'iconv-lite': '/node_modules/iconv-lite/',
  'cli-progress': '/node_modules/cli-progress/',
  'smol-toml': '/node_modules/smol-toml/',
  server: '/dist/server/',
};

let dir: string;
let preload: string;
/** The bundle's folder as a URL prefix, and the modules in each of its files. */
const binDir = `${pathToFileURL(dirname(BIN)).href}/`;
const packageJson = resolve(dirname(BIN), '../../package.json');
const bundled = JSON.parse(readFileSync(join(dirname(BIN), 'modules.json'), 'utf8')) as Record<
  string,
  string[]
>;

beforeAll(() => {
  dir = tempDir('pop3-startup-');
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
  preload = join(dir, 'preload.mjs');
  writeFileSync(preload, PRELOAD);
});

let runs = 0;
/** Run pop3 with the recording preload; returns the result and the modules it loaded. */
async function loaded(args: string[], env: Record<string, string> = {}) {
  const out = join(dir, `modules-${runs++}.txt`);
  writeFileSync(out, '');
  const result = await runCli(args, {
    env: {
      ...env,
      NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`,
      POP3_TEST_MODULES_OUT: out,
    },
  });
  const loadedFiles = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  const ownFiles = loadedFiles.filter((url) => url.startsWith(binDir)).map((url) => url.slice(binDir.length));
  const modules = [
    ...loadedFiles,
    ...ownFiles.flatMap((file) => {
      const inputs = bundled[file];
      if (!inputs) throw new Error(`${file} is not in the bundle's modules.json`);
      return inputs.map((m) => `/${m}`);
    }),
  ];
  // Our code and the npm packages come only from the bundle: nothing resolved file by file
  // (package.json is read for the version; the preload's own files are the test's).
  const outside = loadedFiles.filter(
    (url) =>
      !url.startsWith(binDir) &&
      !url.startsWith('node:') &&
      !url.startsWith(pathToFileURL(dir).href) &&
      url !== packageJson,
  );
  return {
    result,
    modules,
    ownFiles,
    outside,
    has: (fragment: string) => modules.some((m) => m.includes(fragment)),
  };
}

/** Files of the bundle a Maildir fetch may load (it loaded 91 modules before the bundle). */
const MAX_FILES_FOR_FETCH = 30;

function heavyIn(has: (fragment: string) => boolean): string[] {
  return Object.entries(HEAVY)
    .filter(([, fragment]) => has(fragment))
    .map(([name]) => name);
}

describe('pop3 start-up loads only what the command needs', () => {
  it('--version and --help: commander and the definitions, no command code', async () => {
    for (const args of [['--version'], ['--help'], ['fetch', '--help']]) {
      const { result, modules, ownFiles, outside, has } = await loaded(args);
      expect(result.code, result.stderr).toBe(0);
      expect(modules.length, 'the preload recorded nothing').toBeGreaterThan(0);
      expect(ownFiles[0], 'the bin itself').toBe('pop3.js');
      expect(outside, args.join(' ')).toEqual([]);
      expect(has('/node_modules/commander/'), args.join(' ')).toBe(true);
      expect(heavyIn(has), args.join(' ')).toEqual([]);
      for (const layer of ['/dist/client/', '/dist/fetch/', '/dist/mailstore/', '/dist/cli/actions/']) {
        expect(has(layer), `${args.join(' ')} loaded ${layer}`).toBe(false);
      }
    }
  });

  describe('data commands against our server', () => {
    let srv: TestServer;
    let caFile: string;
    beforeAll(async () => {
      srv = await startServer();
      caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, srv.ca);
    });
    afterAll(() => srv.close());

    it('fetch (no terminal, no config file): the fetcher, but no progress bars, libmime, TOML or server', async () => {
      const maildir = join(dir, 'Maildir');
      const { result, has, ownFiles, outside } = await loaded(
        [
          'fetch',
          `pop3s://${USER}@127.0.0.1:${srv.tlsPort}`,
          '--ca-file',
          caFile,
          '--maildir',
          maildir,
          '--state-dir',
          join(dir, 'state'),
        ],
        { POP3_PASSWORD: PASSWORD },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(readdirSync(join(maildir, 'new'))).toHaveLength(3);
      expect(has('/dist/fetch/')).toBe(true);
      expect(heavyIn(has)).toEqual([]);
      expect(has('node:readline')).toBe(false);
      // A few files of the bundle instead of ~90 modules (see scripts/bundle-cli.mjs).
      expect(outside).toEqual([]);
      expect(ownFiles.length).toBeLessThanOrEqual(MAX_FILES_FOR_FETCH);
    });

    it('stat, list and retr (no --json): the client, nothing heavy', async () => {
      for (const cmd of [['stat'], ['list'], ['retr', '1']]) {
        const { result, has } = await loaded(
          [...cmd, `pop3s://${USER}@127.0.0.1:${srv.tlsPort}`, '--ca-file', caFile],
          { POP3_PASSWORD: PASSWORD },
        );
        const name = cmd.join(' ');
        expect(result.code, result.stderr).toBe(0);
        expect(has('/dist/client/'), name).toBe(true);
        expect(heavyIn(has), name).toEqual([]);
        expect(has('/dist/fetch/'), name).toBe(false);
      }
    });
  });
});
