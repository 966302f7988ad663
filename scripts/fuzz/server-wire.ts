// The fuzzer's wire reader is the scripted-client tests' one (test/helpers/pop3-wire.ts); this name
// stays for the modules that import it from here (src/server/fuzz-smoke.test.ts).
export {
  HangError,
  MAX_STATUS_LINE,
  openPair,
  type Pair,
  ReplyReader,
  unstuff,
  WireError,
} from '../../test/helpers/pop3-wire.js';
