/**
 * What the first TLS handshake records of a flow show (IEC 62351-3 protects IEC 104 with TLS,
 * port 19998): the ClientHello's SNI and offered versions, the ServerHello's chosen version and
 * cipher suite. Best effort, from the first record of each direction only.
 */

/** Facts from the ClientHello / ServerHello. */
export interface TlsInfo {
  /** Server name indication from the ClientHello. */
  sni?: string;
  /** Highest version the client offers (supported_versions, else the legacy version), e.g. `TLS 1.3`. */
  clientVersion?: string;
  /** Version the server chose. */
  serverVersion?: string;
  /** Cipher suite the server chose, e.g. `TLS_AES_128_GCM_SHA256 (0x1301)`. */
  cipher?: string;
  /** Number of cipher suites the client offered. */
  offeredCiphers?: number;
}

const CIPHERS: Record<number, string> = {
  0x1301: 'TLS_AES_128_GCM_SHA256',
  0x1302: 'TLS_AES_256_GCM_SHA384',
  0x1303: 'TLS_CHACHA20_POLY1305_SHA256',
  0xc02b: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  0xc02c: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  0xc02f: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  0xc030: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  0xcca8: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  0xcca9: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  0x009c: 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  0x009d: 'TLS_RSA_WITH_AES_256_GCM_SHA384',
  0x003c: 'TLS_RSA_WITH_AES_128_CBC_SHA256',
  0x002f: 'TLS_RSA_WITH_AES_128_CBC_SHA',
  0x0035: 'TLS_RSA_WITH_AES_256_CBC_SHA',
  0xc027: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  0xc028: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
};

/** Name of a TLS protocol version number. */
export function tlsVersionName(v: number): string {
  if (v === 0x0300) return 'SSL 3.0';
  if (v >= 0x0301 && v <= 0x0304) return `TLS 1.${v - 0x0301}`;
  return `0x${v.toString(16).padStart(4, '0')}`;
}

function cipherName(c: number): string {
  const hex = '0x' + c.toString(16).padStart(4, '0');
  const n = CIPHERS[c];
  return n ? `${n} (${hex})` : hex;
}

/** Whether `b` starts like a TLS handshake record (content type 22, version 3.x). */
export function looksLikeTls(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0x16 && b[1] === 0x03 && b[2] <= 0x04;
}

/**
 * Parse the ClientHello or ServerHello in the first TLS record of `b` into `info`.
 * Returns `true` when a hello was found (complete or not), `false` when `b` does not hold one yet.
 */
export function parseTlsHello(b: Uint8Array, info: TlsInfo): boolean {
  if (!looksLikeTls(b) || b.length < 9) return false;
  const recLen = (b[3] << 8) | b[4];
  const end = Math.min(b.length, 5 + recLen);
  const type = b[5];
  if (type !== 1 && type !== 2) return false;
  let p = 9;
  if (p + 2 > end) return true;
  const legacy = (b[p] << 8) | b[p + 1];
  p += 2 + 32; // version, random
  if (p + 1 > end) return true;
  p += 1 + b[p]; // session id
  let best = legacy;
  if (type === 1) {
    if (p + 2 > end) return true;
    const cl = (b[p] << 8) | b[p + 1];
    info.offeredCiphers = cl >> 1;
    p += 2 + cl;
    if (p + 1 > end) return true;
    p += 1 + b[p]; // compression methods
  } else {
    if (p + 3 > end) return true;
    info.cipher = cipherName((b[p] << 8) | b[p + 1]);
    p += 3;
  }
  if (p + 2 <= end) {
    const extEnd = Math.min(end, p + 2 + ((b[p] << 8) | b[p + 1]));
    p += 2;
    while (p + 4 <= extEnd) {
      const et = (b[p] << 8) | b[p + 1];
      const el = (b[p + 2] << 8) | b[p + 3];
      const v = p + 4;
      if (v + el > extEnd) break;
      if (et === 0 && type === 1 && el >= 5) {
        // server_name list: len(2) type(1) len(2) name
        const nl = (b[v + 3] << 8) | b[v + 4];
        if (b[v + 2] === 0 && v + 5 + nl <= v + el) info.sni = String.fromCharCode(...b.subarray(v + 5, v + 5 + nl));
      } else if (et === 43) {
        if (type === 1 && el >= 1) {
          for (let q = v + 1; q + 1 < v + 1 + b[v] && q + 1 < v + el; q += 2) {
            const ver = (b[q] << 8) | b[q + 1];
            if ((ver & 0x0f0f) !== 0x0a0a && ver > best && ver <= 0x0304) best = ver; // skip GREASE
          }
        } else if (type === 2 && el >= 2) best = (b[v] << 8) | b[v + 1];
      }
      p = v + el;
    }
  }
  if (type === 1) info.clientVersion = tlsVersionName(best);
  else info.serverVersion = tlsVersionName(best);
  return true;
}
