import { describe, expect, it } from 'vitest';
import { displayWidth, formatTable, humanSize, parseSize, truncate } from './output.js';

describe('output', () => {
  it('display width counts CJK as two columns', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('你好')).toBe(4);
    expect(truncate('你好世界', 5)).toBe('你好…');
    expect(truncate('short', 10)).toBe('short');
  });

  it('formatTable aligns columns and escapes control bytes from the server', () => {
    const table = formatTable(
      [
        { n: 1, s: '你好' },
        { n: 10, s: 'evil\x1b[2Jtext' },
      ],
      [
        { header: '#', value: (r) => String(r.n), align: 'right' },
        { header: 'subject', value: (r) => r.s },
      ],
    );
    expect(table).toBe(' #  subject\n 1  你好\n10  evil\\x1b[2Jtext\n');
  });

  it('sizes', () => {
    expect(humanSize(512)).toBe('512 B');
    expect(humanSize(1536)).toBe('1.5 KiB');
    expect(parseSize('10M')).toBe(10 * 1024 * 1024);
    expect(parseSize('512k')).toBe(512 * 1024);
    expect(parseSize('1048576')).toBe(1048576);
    expect(parseSize('ten')).toBeUndefined();
    expect(parseSize(-1)).toBeUndefined();
  });
});
