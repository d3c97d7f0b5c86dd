/**
 * What the controlling station needs from a connection. The master never touches sockets or
 * bytes: a {@link Connector} opens a transport, binds it to a link machine whose outputs go to the
 * given {@link LinkEvents}, and hands back the link's control surface ({@link MasterLink}).
 * `tcpConnector` (tcp.ts) is the real one; tests inject in-memory connectors.
 */
import type { Asdu } from '../codec/asdu.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { LinkEvents, LinkOptions, LinkSnapshot } from '../link/types.js';
import type { ConnectionTls } from '../transport/security-events.js';

/** The part of `Link` (src/link/link.ts) the master uses. `Link` satisfies it structurally. */
export interface MasterLink {
  /** Whether `send` would accept an ASDU now (started and window not full). */
  readonly canSend: boolean;
  /** Send STARTDT act (controlling role). */
  start(): void;
  /** Send STOPDT act (controlling role). */
  stop(): void;
  /** Queue an ASDU as an I-frame. False: window full or not started (wait for `drain`). */
  send(asdu: Asdu, tag?: unknown): boolean;
  /** Close locally; the link emits `close` with E_LOCAL. */
  close(): void;
  /** Live state for observability. */
  snapshot(): LinkSnapshot;
  /** TLS facts of the connection, when the connector opened it with TLS. */
  readonly tls?: ConnectionTls;
}

/** Everything a connector gets for one connection attempt. */
export interface ConnectContext {
  /** Options for the link machine (role `controlling`, parameters, clock, codec widths, logger). */
  linkOptions: LinkOptions;
  /**
   * Where the link's outputs go. The connector wraps them: it adds the transport write for `write`
   * and closes the transport on `close`, then calls these.
   */
  events: LinkEvents;
  /** Connection establishment time-out t0 in milliseconds. The master enforces it as well. */
  timeout: number;
  /** Aborted when the attempt is given up (t0 elapsed or the master closed). */
  signal: AbortSignal;
  clock: Clock;
  logger: Logger;
}

/**
 * Opens one connection and resolves to its link once the transport is connected (before STARTDT).
 * Rejects when the connection cannot be made. After resolving, the end of the transport must be
 * reported through `events.close` (via the link's `transportClosed()`).
 */
export type Connector = (ctx: ConnectContext) => Promise<MasterLink>;
