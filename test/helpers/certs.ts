import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private key and its certificate, PEM. */
export interface KeyPair {
  key: string;
  cert: string;
}

/** Test certificates, made with the `openssl` command line once per test process. */
export interface TestCerts {
  /** The test CA's certificate: pass it as `tlsOptions: { ca }` to trust `server`. */
  ca: string;
  /** localhost / 127.0.0.1 / ::1, signed by the CA: the certificate that should verify. */
  server: KeyPair;
  /** Signed by the CA but only for `wrong.example`: fails the host name check. */
  wrongHost: KeyPair;
  /** For localhost / 127.0.0.1, signed by the CA, valid only in January 2020. */
  expired: KeyPair;
  /** For localhost / 127.0.0.1, signed by itself. */
  selfSigned: KeyPair;
}

const LOCAL_NAMES = 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1';

let cached: TestCerts | undefined;

/**
 * The test certificates. The first call runs openssl (EC P-256 keys, so it takes well under a
 * second) in a temporary directory removed when the process exits; later calls reuse the result.
 * `openssl ca` makes the expired one: it takes explicit start and end dates on OpenSSL 1.1 and 3.x
 * alike (`x509 -not_before` only exists from 3.4).
 */
export function testCerts(): TestCerts {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'pop3kit-certs-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const newKey = (name: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path(name));
  const csr = (key: string, cn: string, out: string) =>
    openssl('req', '-new', '-key', path(key), '-subj', `/CN=${cn}`, '-out', path(out));

  newKey('ca.key');
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    path('ca.key'),
    '-subj',
    '/CN=pop3kit test CA',
    '-days',
    '3650',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    path('ca.pem'),
  );

  // Leaf certificates, all issued by the CA with `openssl ca` (one code path, explicit dates).
  mkdirSync(path('issued'));
  writeFileSync(path('index.txt'), '');
  writeFileSync(path('serial'), '1000\n');
  writeFileSync(
    path('ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${path('index.txt')}`,
      `new_certs_dir = ${path('issued')}`,
      `serial = ${path('serial')}`,
      'default_md = sha256',
      'policy = any_name',
      'unique_subject = no',
      'email_in_dn = no',
      '[any_name]',
      'commonName = supplied',
      '[local]',
      'basicConstraints = CA:FALSE',
      'extendedKeyUsage = serverAuth',
      LOCAL_NAMES.replace('=', ' = '),
      '[wrong]',
      'basicConstraints = CA:FALSE',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = DNS:wrong.example',
      '',
    ].join('\n'),
  );
  const issue = (name: string, cn: string, section: string, dates: string[]) => {
    newKey(`${name}.key`);
    csr(`${name}.key`, cn, `${name}.csr`);
    openssl(
      'ca',
      '-batch',
      '-notext',
      '-config',
      path('ca.cnf'),
      '-cert',
      path('ca.pem'),
      '-keyfile',
      path('ca.key'),
      '-extensions',
      section,
      '-in',
      path(`${name}.csr`),
      '-out',
      path(`${name}.pem`),
      ...dates,
    );
    return {
      key: readFileSync(path(`${name}.key`), 'utf8'),
      cert: readFileSync(path(`${name}.pem`), 'utf8'),
    };
  };
  const server = issue('server', 'localhost', 'local', ['-days', '3650']);
  const wrongHost = issue('wrong', 'wrong.example', 'wrong', ['-days', '3650']);
  const expired = issue('expired', 'localhost', 'local', [
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200201000000Z',
  ]);

  newKey('self.key');
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    path('self.key'),
    '-subj',
    '/CN=localhost',
    '-days',
    '3650',
    '-addext',
    LOCAL_NAMES,
    '-out',
    path('self.pem'),
  );
  const selfSigned = {
    key: readFileSync(path('self.key'), 'utf8'),
    cert: readFileSync(path('self.pem'), 'utf8'),
  };

  cached = { ca: readFileSync(path('ca.pem'), 'utf8'), server, wrongHost, expired, selfSigned };
  return cached;
}
