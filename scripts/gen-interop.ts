/**
 * Writes INTEROPERABILITY.md: the interoperability list in the form of clause 9 of
 * IEC 60870-5-104. The type-identification section is generated from the codec's type table and
 * the ports row from the transport's constants; `npm test` checks the committed file is current
 * (test/docs/interop.test.ts).
 * Usage: node --import tsx scripts/gen-interop.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { allTypes } from '../src/codec/type-table.js';
import { cotShortName } from '../src/codec/cause.js';
import { DEFAULT_TLS_PORT, TLS12_SUITES, TLS13_SUITES } from '../src/transport/tls-config.js';

/** The roles, ports and redundancy table; the ports row from the transport's constants (TLS implemented). */
export function networkSection(): string {
  return `| item | support |
|---|---|
| Controlled station (slave, TCP server) | see docs/station.md |
| Controlling station (master, TCP client) | see docs/master.md |
| Port 2404 (plain), ${DEFAULT_TLS_PORT} (TLS per IEC 62351-3) | 2404: yes; ${DEFAULT_TLS_PORT} with TLS: yes — mutual authentication (certificates both ways), TLS 1.2 and 1.3 per the IEC 62351-3 profile (see TLS below), CRLs, peer allow-lists; controlled station (\`serve --tls\`), controlling station (\`connect --tls\`), proxy (either leg), probe / test / measure (docs/security.md) |
| Redundancy groups (clause 10.3) | controlled station: yes — \`single\` (default), \`per-connection\`, \`groups\` by client address with catch-all (docs/station.md, Redundancy); controlling station: \`RedundancyGroup\` (docs/security.md) |`;
}

/** Compact list of causes: `1,2,3,20-36`. */
function causes(set: ReadonlySet<number>): string {
  const v = [...set].filter((c) => c < 44).sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < v.length; i++) {
    let j = i;
    while (j + 1 < v.length && v[j + 1] === v[j] + 1) j++;
    parts.push(j - i >= 2 ? `${v[i]}-${v[j]}` : v.slice(i, j + 1).join(','));
    i = j;
  }
  return parts.join(',');
}

export function typeSection(): string {
  const rows = allTypes().map((t) => {
    const layout = t.raw ? '(raw octets kept)' : t.fields.map((f) => f.ie).join(' + ') || '(IOA only)';
    const support = t.raw ? 'raw' : t.iec101Only ? 'yes (codec; 101-only type)' : t.category === 'file' ? 'yes; file transfer: station and master (docs/files.md)' : 'yes';
    return `| ${t.id} | ${t.name} | ${t.description} | ${layout} | ${t.timeTag === 'none' ? '' : t.timeTag} | ${t.sqAllowed ? 'yes' : 'no'} | ${causes(t.causes)} | ${support} |`;
  });
  return [
    '| id | name | description | elements | time tag | SQ=1 | causes (+44-47 mirrored) | codec |',
    '|---:|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'Reserved (22-29, 42-44, 52-57, 65-69, 71-80, 88-89, 96-99, 108-109, 114-119) and private (128-255) type identifications decode to a raw object that keeps the octets and re-encodes byte-identical, with the warning `W_TYPE_RESERVED`.',
    '',
    `Cause names: ${[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 20, 37, 44, 45, 46, 47].map((c) => `${c} ${cotShortName(c)}`).join(', ')}.`,
  ].join('\n');
}

/** The TLS rows (IEC 62351-3 profile), from the suites the toolkit offers by default (src/transport/tls-config.ts). */
export function tlsSection(): string {
  const fs = (s: string): string => (s.startsWith('ECDHE') || s.startsWith('TLS_') ? 'yes' : '**no** (warned)');
  return [
    '| item | support |',
    '|---|---|',
    '| Port 19998, mutual X.509 authentication | yes, both roles (`serve --tls`, `connect`/`command --tls`, proxy legs, probe/test/measure) |',
    '| TLS versions | 1.2 and 1.3 (`--tls-min-version`, `--tls-max-version`); 1.1 and lower refused |',
    `| TLS 1.3 suites offered | ${TLS13_SUITES.join(', ')} |`,
    ...TLS12_SUITES.map((c) => `| TLS 1.2 suite \`${c}\` | offered by default; forward secrecy: ${fs(c)}${c === 'AES128-SHA256' ? ' (TLS_RSA_WITH_AES_128_CBC_SHA256, mandatory in IEC 62351-3; offered last)' : ''} |`),
    '| Refused suites | NULL, EXPORT, anonymous, RC4, DES/3DES, MD5 (`--tls-ciphers` cannot enable them) |',
    '| Peer identity | chain to `--tls-ca`; optional pins `--peer-cert` (file or SHA-256) and `--peer-subject`; host name/IP only with `--tls-servername`; certificates without subjectAltName accepted |',
    '| Revocation | CRL files, reloaded at run time (open sessions of revoked certificates closed); no OCSP |',
    '| Renegotiation (TLS 1.2) | peer-initiated accepted, bounded (burst of 3 within 1 s closes), counted and audited; own every `--tls-renegotiate S` |',
    '| Session renewal TLS 1.3 | by reconnecting (`maxSessionDuration`): Node cannot send KeyUpdate |',
    '| Session resumption | station: session IDs (bounded cache) and tickets, `resumed` in the audit log |',
    '| Tested against | lib60870-C 2.4.1 `tls_server`/`tls_client` (mbedTLS, TLS 1.2, AES128-SHA256 only, RSA without SAN, renegotiation every 2 s); openssl s_server/s_client in CI |',
  ].join('\n');
}

const path = fileURLToPath(new URL('../INTEROPERABILITY.md', import.meta.url));
const sections: [string, string, () => string][] = [
  ['<!-- types:begin -->', '<!-- types:end -->', typeSection],
  ['<!-- tls:begin -->', '<!-- tls:end -->', tlsSection],
  ['<!-- network:begin -->', '<!-- network:end -->', networkSection],
];

export function render(doc: string): string {
  let out = doc;
  for (const [begin, end, make] of sections) {
    if (!out.includes(begin)) continue;
    out = out.slice(0, out.indexOf(begin) + begin.length) + '\n' + make() + '\n' + out.slice(out.indexOf(end));
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const doc = readFileSync(path, 'utf8');
  const next = render(doc);
  if (process.argv.includes('--check')) {
    if (next !== doc) {
      console.error('INTEROPERABILITY.md is out of date: run node --import tsx scripts/gen-interop.ts');
      process.exit(1);
    }
  } else writeFileSync(path, next);
}
