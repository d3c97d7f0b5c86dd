/**
 * Shared set-up of the transport tests: one test PKI per test file (temp dir), a secured listener
 * recording refusals and audit lines, TLS client attempts over 127.0.0.1.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { VirtualClock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import type { Link } from '../../src/link/link.js';
import { AuditLog } from '../../src/transport/audit-log.js';
import type { SecurityEvent } from '../../src/transport/security-events.js';
import { listenTcp, type ListenTcpOptions, type TcpLinkServer } from '../../src/transport/tcp-link.js';
import { createTestPki, type TestPki, type TestPkiLeaf } from '../../src/transport/test-pki.js';
import type { TlsConfig } from '../../src/transport/tls-config.js';
import { TlsSecurity } from '../../src/transport/tls-verify.js';

export function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() - start > ms) return reject(new Error('timed out waiting'));
      setImmediate(tick);
    };
    tick();
  });
}

export async function makePki(): Promise<TestPki> {
  return createTestPki(mkdtempSync(join(tmpdir(), 'iec104-pki-')));
}

export interface SecuredServer {
  srv: TcpLinkServer;
  sec: TlsSecurity;
  clock: VirtualClock;
  refusals: SecurityEvent[];
  audit: string[];
  logs: string[];
  links: Link[];
  got: number[];
  close(): Promise<void>;
}

/** A TLS listener on 127.0.0.1:0 with the server certificate of `pki`, CRL on; links echo nothing. */
export async function securedServer(pki: TestPki, cfg: Partial<TlsConfig> = {}, listen: Partial<ListenTcpOptions> = {}): Promise<SecuredServer> {
  const clock = new VirtualClock();
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => logs.push(l) });
  const sec = new TlsSecurity({ cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: [pki.ca.cert], crl: [pki.crl], ...cfg }, { clock, logger });
  await sec.ready();
  const audit: string[] = [];
  const auditLog = new AuditLog({ sink: { write: (l) => audit.push(l) } });
  const refusals: SecurityEvent[] = [];
  const links: Link[] = [];
  const got: number[] = [];
  const srv = await listenTcp(
    { host: '127.0.0.1', port: 0, link: { role: 'controlled', clock }, secure: sec, audit: auditLog, onRefused: (e) => refusals.push(e), logger, ...listen },
    (conn) => {
      const l = conn.bind({
        asdu: (a) => got.push(a.objects[0].ioa),
        close() {},
      });
      links.push(l);
    },
  );
  return { srv, sec, clock, refusals, audit, logs, links, got, close: () => srv.close() };
}

/** TLS client options presenting `leaf` (or no certificate), trusting the test CA. */
export function clientTls(pki: TestPki, leaf: TestPkiLeaf | undefined, extra: tls.ConnectionOptions = {}): tls.ConnectionOptions {
  return {
    ca: [readFileSync(pki.ca.cert)],
    ...(leaf ? { cert: readFileSync(pki.leaves[leaf].cert), key: readFileSync(pki.leaves[leaf].key) } : {}),
    ...extra,
  };
}

/** Connect with TLS and wait until `until` holds and (with `waitClose`) the socket closed. Never rejects. */
export function attempt(port: number, opts: tls.ConnectionOptions, until: () => boolean, waitClose = true): Promise<{ secure: boolean; error?: string; closed: boolean; socket: tls.TLSSocket }> {
  return new Promise((resolve) => {
    const r = { secure: false, error: undefined as string | undefined, closed: false };
    const s = tls.connect({ host: '127.0.0.1', port, ...opts });
    s.on('secureConnect', () => (r.secure = true));
    s.on('error', (e: NodeJS.ErrnoException) => (r.error = e.code ?? e.message));
    s.on('close', () => (r.closed = true));
    s.resume();
    waitFor(() => (r.closed || !waitClose) && until(), 10_000).then(
      () => resolve({ ...r, socket: s }),
      () => resolve({ ...r, socket: s }),
    );
  });
}
