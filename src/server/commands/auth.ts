import { decodeBase64Strict } from '../../protocol/sasl/base64.js';
import { challengeLine, createServerExchange, type SaslStep } from '../../protocol/sasl/server/index.js';
import type { ParsedCommand } from '../command-line.js';
import type { Session } from '../session.js';
import { checkArgs } from './syntax.js';

const MECHANISM_NAME = /^[A-Za-z0-9_-]{1,20}$/;

function decode(text: string): Buffer | undefined {
  try {
    return decodeBase64Strict(text);
  } catch {
    return undefined;
  }
}

/**
 * AUTH mechanism [initial-response] (RFC 5034, S18–S22). Challenges go out as `+ base64` (exactly
 * `+ ` when empty); the client's `*` cancels; bad base64 ends the exchange with -ERR. Neither the
 * initial response nor continuation lines are ever logged. A credential failure is `-ERR [AUTH]`
 * after the failed-login delay; a backend failure is `-ERR [SYS/TEMP]`.
 */
export async function auth(session: Session, cmd: ParsedCommand): Promise<void> {
  if (!checkArgs(session, cmd, 1, 2)) return;
  const name = cmd.args[0]!.toUpperCase();
  if (!MECHANISM_NAME.test(name) || !session.host.auth.mechanisms.includes(name)) {
    return session.err('unsupported authentication mechanism');
  }
  if (!session.saslMechanisms.includes(name)) return session.err('this mechanism needs TLS: use STLS first');
  const { options } = session.host;
  const backend = session.host.auth.forAttempt({
    mechanism: name,
    remoteAddress: session.remoteAddress,
    secure: session.secure,
  });
  const exchange = createServerExchange(name, backend, {
    serverName: options.hostname,
    ...(options.scramIterations === undefined ? {} : { scramIterations: options.scramIterations }),
  });
  if (!exchange) return session.err('unsupported authentication mechanism');
  const startedAt = Date.now();

  let response: Buffer | undefined;
  const initial = cmd.args[1];
  if (initial !== undefined) {
    response = decode(initial); // `=` is the empty initial response
    if (response === undefined) return session.err('invalid base64 in the initial response');
  }
  for (;;) {
    let step: SaslStep;
    try {
      step = await exchange.step(response);
    } catch (err) {
      session.host.failed(err, session.info, `${name} backend failed`);
      return session.err('authentication temporarily unavailable', 'SYS/TEMP');
    }
    if (step.kind === 'success') return session.login(step.user, name);
    if (step.kind === 'failure') {
      session.log('debug', { mechanism: name, reason: step.reason }, 'SASL exchange failed');
      return session.loginFailed(startedAt, name, step.user);
    }
    session.send(`${challengeLine(step.data)}\r\n`);
    const line = await session.readContinuation(exchange.maxResponseOctets);
    if (line === undefined) return;
    const text = line.toString('latin1');
    if (text === '*') return session.err('authentication cancelled');
    response = decode(text);
    if (response === undefined) return session.err('invalid base64 in the SASL response');
  }
}
