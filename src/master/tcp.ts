/**
 * TCP (and TLS) connector of the controlling station, on top of the transport adapter. TLS goes
 * through `connectTls` (IEC 62351-3 practice: TLS 1.2/1.3, server certificate chain and host
 * checked, allow-list, minimum key sizes, CRLs), never through raw `tls` options.
 */
import type { Duplex } from 'node:stream';
import { bindLink, connectTcp } from '../transport/tcp-link.js';
import type { TlsConfig } from '../transport/tls-config.js';
import { connectTls, TlsRefusedError, TlsSecurity } from '../transport/tls-verify.js';
import type { Connector } from './connection.js';
import { MasterError } from './errors.js';
import type { TLSSocket } from 'node:tls';

/** IANA port of IEC 60870-5-104. */
export const IEC104_PORT = 2404;

/** Options of {@link tcpConnector}. */
export interface TcpConnectorOptions {
  /**
   * Connect with mutual TLS (IEC 62351-3): a {@link TlsConfig} (files are read once, when the
   * connector is made: a bad configuration throws `TlsConfigError` at once) or a shared
   * {@link TlsSecurity}. A refused server rejects the attempt with `E_CONNECT_FAILED` whose message
   * carries the refusal code (`E_TLS_UNKNOWN_CA: ...`).
   */
  tls?: TlsConfig | TlsSecurity;
  /** Local address to bind. */
  localAddress?: string;
  /** Close the link when more than this many bytes wait to be written (see `bindLink`). */
  maxWriteBuffer?: number;
}

/**
 * A {@link Connector} that opens a TCP (or TLS) connection to `host:port` (bounded by t0) and binds
 * it to a controlling-role link.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { tcpConnector, TlsConfigError } from 'iec104';
 * assert.throws(() => tcpConnector('127.0.0.1', 19998, { tls: { cert: '/nonexistent.crt', key: '/nonexistent.key', ca: '/nonexistent-ca.crt' } }), TlsConfigError);
 * assert.equal(typeof tcpConnector('127.0.0.1', 2404), 'function');
 * ```
 */
export function tcpConnector(host: string, port = IEC104_PORT, opts: TcpConnectorOptions = {}): Connector {
  const security = opts.tls === undefined ? undefined : opts.tls instanceof TlsSecurity ? opts.tls : new TlsSecurity(opts.tls);
  return async (ctx) => {
    let socket: Duplex;
    const base = { t0: ctx.timeout, clock: ctx.clock, logger: ctx.logger, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) };
    try {
      socket = security ? await connectTls(host, port, security, base) : await connectTcp(host, port, base);
    } catch (e) {
      if (e instanceof TlsRefusedError) {
        ctx.logger.log('warn', 'master.tls_refused', `${host}:${port}: ${e.message}`, { code: e.code, detail: e.detail });
        throw new MasterError('E_CONNECT_FAILED', `cannot connect to ${host}:${port}: ${e.message}`);
      }
      throw new MasterError('E_CONNECT_FAILED', `cannot connect to ${host}:${port}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (ctx.signal.aborted) {
      socket.destroy();
      throw new MasterError('E_CONNECT_FAILED', `connection to ${host}:${port} given up`);
    }
    const { write: _write, ...events } = ctx.events;
    const link = bindLink(socket, { ...ctx.linkOptions, maxWriteBuffer: opts.maxWriteBuffer }, events);
    // what the connection panel of the workbench shows: the session and the station's verified certificate
    return security ? Object.assign(link, { tls: security.describeConnection(socket as TLSSocket) }) : link;
  };
}

/**
 * Split `HOST[:PORT]` (IPv6 as `[::1]:2404`). Throws `E_INVALID` for a bad port.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { parseHostPort } from 'iec104';
 * assert.deepEqual(parseHostPort('10.0.0.5'), { host: '10.0.0.5', port: 2404 });
 * assert.deepEqual(parseHostPort('[::1]:2405'), { host: '::1', port: 2405 });
 * ```
 */
export function parseHostPort(s: string, defaultPort = IEC104_PORT): { host: string; port: number } {
  let host = s.trim();
  let port = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(host);
  let portText: string | undefined;
  if (v6) {
    host = v6[1];
    portText = v6[2];
  } else if ((host.match(/:/g) ?? []).length === 1) {
    const i = host.lastIndexOf(':');
    portText = host.slice(i + 1);
    host = host.slice(0, i);
  }
  if (portText !== undefined) {
    if (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw new MasterError('E_INVALID', `invalid port '${portText}' in '${s}'`);
    port = Number(portText);
  }
  if (host === '') throw new MasterError('E_INVALID', `missing host in '${s}'`);
  return { host, port };
}
