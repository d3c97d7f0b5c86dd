/**
 * TCP (and TLS) connector of the controlling station, on top of the transport adapter.
 */
import type tls from 'node:tls';
import { bindLink, connectTcp } from '../transport/tcp-link.js';
import type { Connector } from './connection.js';
import { MasterError } from './errors.js';

/** IANA port of IEC 60870-5-104. */
export const IEC104_PORT = 2404;

/** Options of {@link tcpConnector}. */
export interface TcpConnectorOptions {
  /** Connect with TLS (IEC 62351-3) using these options. */
  tls?: tls.ConnectionOptions;
  /** Local address to bind. */
  localAddress?: string;
  /** Close the link when more than this many bytes wait to be written (see `bindLink`). */
  maxWriteBuffer?: number;
}

/**
 * A {@link Connector} that opens a TCP connection to `host:port` (bounded by t0) and binds it to a
 * controlling-role link.
 */
export function tcpConnector(host: string, port = IEC104_PORT, opts: TcpConnectorOptions = {}): Connector {
  return async (ctx) => {
    let socket;
    try {
      socket = await connectTcp(host, port, { t0: ctx.timeout, clock: ctx.clock, logger: ctx.logger, tls: opts.tls, localAddress: opts.localAddress });
    } catch (e) {
      throw new MasterError('E_CONNECT_FAILED', `cannot connect to ${host}:${port}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (ctx.signal.aborted) {
      socket.destroy();
      throw new MasterError('E_CONNECT_FAILED', `connection to ${host}:${port} given up`);
    }
    const { write: _write, ...events } = ctx.events;
    return bindLink(socket, { ...ctx.linkOptions, maxWriteBuffer: opts.maxWriteBuffer }, events);
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
