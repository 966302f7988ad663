import { describe, expect, it } from 'vitest';
import { Pop3Error, type Pop3ErrorCode } from '../protocol/errors.js';
import { CliError, describeFailure, EXIT, EXIT_TABLE, exitCodeForPop3Error } from './exit-codes.js';

describe('exit codes', () => {
  it('maps every Pop3Error code', () => {
    const expected: Record<Pop3ErrorCode, number> = {
      ECONNECT: 69,
      ETIMEDOUT: 69,
      EABORT: 69,
      ECLOSED: 69,
      EPROTOCOL: 76,
      ELIMIT: 76,
      ETLS: 79,
      EAUTH: 77,
      EINSECURE: 79,
      EARGUMENT: 64,
      ESERVER: 65,
      ESTATE: 65,
    };
    for (const [code, exit] of Object.entries(expected)) {
      expect(exitCodeForPop3Error(new Pop3Error('x', { code: code as Pop3ErrorCode })), code).toBe(exit);
    }
  });

  it('temporary response codes win: [IN-USE], [LOGIN-DELAY], [SYS/TEMP] are 75; [AUTH] stays 77', () => {
    for (const rc of ['IN-USE', 'LOGIN-DELAY', 'SYS/TEMP']) {
      expect(exitCodeForPop3Error(new Pop3Error('x', { code: 'EAUTH', responseCode: rc }))).toBe(75);
    }
    expect(exitCodeForPop3Error(new Pop3Error('x', { code: 'EAUTH', responseCode: 'AUTH' }))).toBe(77);
  });

  it('a refused connection is a network failure even when reported under implicit TLS', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(exitCodeForPop3Error(new Pop3Error('x', { code: 'ETLS', cause }))).toBe(69);
    const tlsCause = Object.assign(new Error('bad cert'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(exitCodeForPop3Error(new Pop3Error('x', { code: 'ETLS', cause: tlsCause }))).toBe(79);
  });

  it('describeFailure: CLI errors, output errors, anything else is internal', () => {
    expect(describeFailure(new CliError('m', EXIT.CONFIG))).toEqual({ exitCode: 78, message: 'm' });
    const enospc = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    expect(describeFailure(enospc).exitCode).toBe(73);
    expect(describeFailure(new TypeError('bug')).exitCode).toBe(70);
  });

  it('the documented table lists every code once', () => {
    const codes = EXIT_TABLE.map(([c]) => c);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort((a, b) => a - b)).toEqual(Object.values(EXIT).sort((a, b) => a - b));
  });
});
