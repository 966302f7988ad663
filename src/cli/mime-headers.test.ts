import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { decodeHeaderValue, parseFrom, parseHeaderBlock, summarizeHeaders } from './mime-headers.js';

const b64 = (text: string, charset: string) => iconv.encode(text, charset).toString('base64');

describe('header decoding', () => {
  it('RFC 2047 words in UTF-8, GB2312, GBK, Big5 and ISO-2022-JP', () => {
    expect(decodeHeaderValue(Buffer.from('=?UTF-8?Q?caf=C3=A9?='))).toBe('café');
    expect(decodeHeaderValue(Buffer.from(`=?GB2312?B?${b64('你好，世界', 'gb2312')}?=`))).toBe('你好，世界');
    expect(decodeHeaderValue(Buffer.from(`=?gbk?B?${b64('邮件', 'gbk')}?=`))).toBe('邮件');
    expect(decodeHeaderValue(Buffer.from(`=?Big5?B?${b64('中文', 'big5')}?=`))).toBe('中文');
    // こんにちは in ISO-2022-JP (iconv-lite cannot encode it; these are the JIS bytes).
    const jis = Buffer.from('1b244224332473244b2441244f1b2842', 'hex').toString('base64');
    expect(decodeHeaderValue(Buffer.from(`=?ISO-2022-JP?B?${jis}?=`))).toBe('こんにちは');
    expect(decodeHeaderValue(Buffer.from('=?utf-8?q?a?= =?utf-8?q?b?='))).toBe('ab');
  });

  it('raw 8-bit headers: UTF-8 when valid, else the Content-Type charset, else Latin-1', () => {
    expect(decodeHeaderValue(Buffer.from('Grüße', 'utf8'))).toBe('Grüße');
    expect(decodeHeaderValue(iconv.encode('你好', 'gb2312'), 'gb2312')).toBe('你好');
    expect(decodeHeaderValue(Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65]))).toBe('Grüße');
  });

  it('unfolds fields and stops at the blank line', () => {
    const fields = parseHeaderBlock(Buffer.from('Subject: a\r\n  b\r\nX: 1\r\n\r\nBody: no\r\n'));
    expect(fields.map((f) => [f.name, f.raw.toString()])).toEqual([
      ['Subject', 'a  b'],
      ['X', '1'],
    ]);
  });

  it('From: name and address forms, with encoded names', () => {
    expect(parseFrom(Buffer.from('"Doe, Jane" <jane@example.org>'))).toEqual({
      name: 'Doe, Jane',
      address: 'jane@example.org',
    });
    expect(parseFrom(Buffer.from(`=?GB2312?B?${b64('李雷', 'gb2312')}?= <li@example.cn>`))).toEqual({
      name: '李雷',
      address: 'li@example.cn',
    });
    expect(parseFrom(Buffer.from('jane@example.org (Jane)'))).toEqual({
      name: 'Jane',
      address: 'jane@example.org',
    });
    expect(parseFrom(Buffer.from('jane@example.org'))).toEqual({ address: 'jane@example.org' });
  });

  it('summarizeHeaders: subject, from, date (with a comment), message id', () => {
    const s = summarizeHeaders(
      Buffer.from(
        'From: A <a@x>\r\nSubject: =?UTF-8?B?w6k=?=\r\nDate: Mon, 2 Mar 2026 10:00:00 +0100 (CET)\r\nMessage-ID: <1@x>\r\n\r\n',
      ),
    );
    expect(s).toMatchObject({ subject: 'é', from: 'A', fromAddress: 'a@x', messageId: '<1@x>' });
    expect(s.date?.toISOString()).toBe('2026-03-02T09:00:00.000Z');
    expect(summarizeHeaders(Buffer.from('garbage without colon\r\n\r\n'))).toEqual({ subject: '', from: '' });
  });
});
