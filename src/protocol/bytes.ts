/** Byte constants and tiny helpers shared by the codecs. */
export const CR = 0x0d;
export const LF = 0x0a;
export const DOT = 0x2e;
export const CRLF = Buffer.from('\r\n');
export const DOT_CRLF = Buffer.from('.\r\n');

/** Empty buffer, shared so that hot paths allocate nothing for "no bytes". */
export const EMPTY = Buffer.alloc(0);
