import { Worker } from 'node:worker_threads';

/**
 * A worker thread running the TypeScript module at `moduleUrl` with `workerData`. A worker's entry is
 * loaded before any --import hook runs in it, so the entry registers tsx first, then loads the module.
 */
export function startTsxWorker(moduleUrl: string, workerData: unknown): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)}).then((t) => t.register())` +
    `.then(() => import(${JSON.stringify(moduleUrl)}))`;
  return new Worker(bootstrap, { eval: true, workerData });
}
