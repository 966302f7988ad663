// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time per
// function and per source file, largest first.
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileEntry {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  byFunction: ProfileEntry[];
  byFile: ProfileEntry[];
}

/** Short, stable name of a script: the part after node_modules/, src/ or dist/, or node:internal. */
function shortUrl(url: string): string {
  if (!url) return '(native/V8)';
  const m = /(node_modules\/.*|\/(?:src|dist)\/.*|node:.*)$/.exec(url);
  return m ? m[1]!.replace(/^\//, '') : url;
}

export async function summarizeProfile(path: string, top = 25): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const samples = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const msPerSample = samples > 0 ? totalMs / samples : 0;
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    const f = n.callFrame;
    const where = shortUrl(f.url);
    const key = `${f.functionName || '(anonymous)'} ${where}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + hits);
    const fileKey = f.url ? where : `(${f.functionName || 'native'})`;
    file.set(fileKey, (file.get(fileKey) ?? 0) + hits);
  }
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => ({ name, ms: hits * msPerSample, share: samples ? hits / samples : 0 }));
  return { totalMs, byFunction: rank(fn), byFile: rank(file) };
}

export function formatSummary(title: string, s: ProfileSummary): string {
  const row = (e: ProfileEntry) => `| ${e.name} | ${e.ms.toFixed(0)} | ${(e.share * 100).toFixed(1)} % |`;
  return [
    `#### ${title} (${(s.totalMs / 1000).toFixed(2)} s profiled)`,
    '',
    '| self time by file | ms | share |',
    '|---|---|---|',
    ...s.byFile.map(row),
    '',
    '| self time by function | ms | share |',
    '|---|---|---|',
    ...s.byFunction.map(row),
  ].join('\n');
}
