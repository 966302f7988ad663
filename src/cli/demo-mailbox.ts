// The demo's mailbox: a few realistic messages that exercise what POP3 clients get wrong:
// legacy charsets in headers (GB2312), 8-bit bodies, a MIME attachment, and lines starting
// with '.' (dot-stuffed on the wire, RFC 1939 §3).

import iconv from 'iconv-lite';

const CRLF = '\r\n';

function date(daysAgo: number, hour: number): string {
  const d = new Date(Date.now() - daysAgo * 86_400_000);
  d.setUTCHours(hour, 14, 0, 0);
  return d.toUTCString().replace('GMT', '+0000');
}

function lines(...ls: string[]): string {
  return ls.join(CRLF) + CRLF;
}

function welcome(): Buffer {
  return Buffer.from(
    lines(
      'From: POP3 Notes <notes@example.org>',
      'To: demo@example.org',
      'Subject: =?UTF-8?Q?Welcome_to_POP3_=E2=80=94_caf=C3=A9_=E2=98=95?=',
      `Date: ${date(3, 9)}`,
      'Message-ID: <welcome.1@example.org>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Hello!',
      '',
      'This mailbox lives in memory inside `pop3 demo`. POP3 (RFC 1939) is a small',
      'protocol: log in, STAT, LIST, RETR, DELE, QUIT. Everything you see above this',
      "message in the demo's output is the real dialogue on the wire.",
    ),
    'utf8',
  );
}

function chinese(): Buffer {
  const word = (text: string) => `=?GB2312?B?${iconv.encode(text, 'gb2312').toString('base64')}?=`;
  const head = lines(
    `From: ${word('李雷')} <lilei@example.cn>`,
    'To: demo@example.org',
    `Subject: ${word('你好，邮件世界')}`,
    `Date: ${date(2, 14)}`,
    'Message-ID: <gb2312.2@example.cn>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=GB2312',
    'Content-Transfer-Encoding: 8bit',
    '',
  );
  // The body is GB2312 bytes, not UTF-8: POP3 carries bytes, and so must every client.
  const body = iconv.encode(
    lines('你好！', '', '这封邮件的主题和正文都使用 GB2312 编码。', '李雷'),
    'gb2312',
  );
  return Buffer.concat([Buffer.from(head, 'ascii'), body]);
}

function dots(): Buffer {
  return Buffer.from(
    lines(
      'From: Protocol Pedant <pedant@example.net>',
      'To: demo@example.org',
      'Subject: Lines that start with a dot',
      `Date: ${date(1, 8)}`,
      'Message-ID: <dots.3@example.net>',
      'Content-Type: text/plain; charset=US-ASCII',
      '',
      'A line holding only a dot ends a POP3 reply, so the server doubles any dot',
      'that starts a line ("dot-stuffing") and the client removes it again:',
      '.',
      '.hidden files start with a dot',
      '..and this line starts with two',
      'In the trace above, these lines appear with one dot more than here.',
    ),
    'ascii',
  );
}

function attachment(): Buffer {
  const csv = 'quarter,revenue\r\nQ1,1200\r\nQ2,1350\r\nQ3,1610\r\n';
  const b64 = Buffer.from(csv)
    .toString('base64')
    .match(/.{1,76}/g)!;
  return Buffer.from(
    lines(
      'From: Finance <finance@example.com>',
      'To: demo@example.org',
      'Subject: Quarterly report (with attachment)',
      `Date: ${date(0, 7)}`,
      'Message-ID: <report.4@example.com>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="=_pop3kit_demo"',
      '',
      'This is a multi-part message in MIME format.',
      '',
      '--=_pop3kit_demo',
      'Content-Type: text/plain; charset=US-ASCII',
      '',
      'The numbers are attached.',
      '',
      '--=_pop3kit_demo',
      'Content-Type: text/csv; name="report.csv"',
      'Content-Disposition: attachment; filename="report.csv"',
      'Content-Transfer-Encoding: base64',
      '',
      ...b64,
      '',
      '--=_pop3kit_demo--',
    ),
    'ascii',
  );
}

/** The demo messages, in delivery order (message 3 is the one with dot lines: RETR 3 shows it). */
export function demoMessages(): Buffer[] {
  return [welcome(), chinese(), dots(), attachment()];
}
