/**
 * `iec104 collect`: consume what the fleet's sensors publish (NATS JetStream and/or MQTT) into a
 * store (SQLite or PostgreSQL) and optionally serve the fleet view. Composes src/fleet only; the
 * broker clients and database drivers load when used.
 */
import type { CliCommand } from './command.js';
import { parseUiAddress } from '../web/server.js';

const HELP = `usage: iec104 collect --from URL [--from URL ...] [--store URL] [options]

Consume the envelopes that sensors publish (iec104 analyze/proxy/serve/connect --publish)
and keep the fleet model: sites, sensors and their health, stations, masters, common
addresses, IOA maps, current point values, aggregated alerts, commands with outcomes and
latencies. Each message is stored once (by its id) and acknowledged to the broker only
after the database committed it: a collector or broker restart loses and duplicates nothing.

options:
  --from URL          broker to consume from (repeatable):
                        nats://HOST:PORT  JetStream stream IEC104 (subjects iec104.>), durable
                                          pull consumer, explicit acks after the commit
                        mqtt://HOST:PORT  MQTT 5 persistent session, QoS 1 on iec104/+/+,
                                          PUBACK after the commit
  --store URL         sqlite:PATH (default sqlite:iec104-fleet.db; WAL) or
                      postgres://USER:PASSWORD@HOST:PORT/DB (for many sites / collectors)
  --retain DURATION   keep history (records, alerts, commands) this long: 30d, 12h, 90m
                      (default: forever); current state (sites, points, alert counts) stays
  --durable NAME      NATS consumer name (default iec104-collector); collectors with the
                      same name share the work, each name gets every message
  --stream NAME       NATS stream (default IEC104; created with subjects iec104.> if missing)
  --client-id ID      MQTT client id of the persistent session (default iec104-collector)
  --batch N           most messages per transaction (default 1000)
  --ui [ADDR:]PORT    serve the fleet view and its /api/ (default address 127.0.0.1; off
                      loopback every request needs the token printed with the URL)
  --json              log one JSON object per line (default: text)
  -h, --help          this text

example:
  $ nats-server -js -sd /var/lib/nats &
  $ iec104 collect --from nats://127.0.0.1:4222 --store sqlite:fleet.db --ui 8105
  $ iec104 collect --from nats://nats1:4222 --from mqtt://broker:1883 \\
      --store postgres://fleet:secret@db:5432/fleet --retain 30d

exit codes:
  0  stopped by SIGINT/SIGTERM after committing what it had received
  1  unexpected error
  2  usage error (bad option, bad --from or --store URL, bad --retain)
  3  the store could not be opened (unreachable, or a schema newer than this build knows)`;

/** `30d`, `12h`, `90m`, `45s` → ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(d|h|m|s)$/.exec(text.trim());
  if (!m) throw new Error(`--retain: expected a duration like 30d, 12h, 90m or 45s, got '${text}'`);
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'd' | 'h' | 'm' | 's'];
}

async function run(argv: string[]): Promise<number> {
  const from: string[] = [];
  let storeUrl = 'sqlite:iec104-fleet.db';
  let retainMs: number | undefined;
  let durable: string | undefined;
  let stream: string | undefined;
  let clientId: string | undefined;
  let batchSize: number | undefined;
  let ui: { host: string; port: number } | undefined;
  let jsonLog = false;
  const usage = (msg: string): number => {
    process.stderr.write(`iec104 collect: ${msg}\n\n${HELP}\n`);
    return 2;
  };
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      const val = (): string => {
        const v = argv[++i];
        if (v === undefined) throw new Error(`${a} needs a value`);
        return v;
      };
      if (a === '--from') {
        const u = val();
        if (!/^(nats|tls|mqtts?|wss?):\/\/[^/]/.test(u)) throw new Error(`--from: '${u}' is neither nats://HOST:PORT nor mqtt://HOST:PORT`);
        from.push(u);
      } else if (a === '--store') storeUrl = val();
      else if (a === '--retain') retainMs = parseDuration(val());
      else if (a === '--durable') durable = val();
      else if (a === '--stream') stream = val();
      else if (a === '--client-id') clientId = val();
      else if (a === '--batch') {
        batchSize = Number(val());
        if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100000) throw new Error('--batch needs a number 1..100000');
      } else if (a === '--ui') ui = parseUiAddress(val());
      else if (a === '--json') jsonLog = true;
      else throw new Error(`unknown option '${a}'`);
    }
    if (from.length === 0) throw new Error('--from is required (nats://HOST:PORT or mqtt://HOST:PORT)');
    const { parseStoreUrl } = await import('../fleet/store.js');
    parseStoreUrl(storeUrl);
  } catch (e) {
    return usage((e as Error).message);
  }
  const log = (e: Record<string, unknown>): void => {
    const rec = { ts: new Date().toISOString(), ...e };
    process.stderr.write(jsonLog ? JSON.stringify(rec) + '\n' : `${rec.ts} ${String(e.event)} ${Object.entries(e).filter(([k]) => k !== 'event').map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}\n`);
  };
  const { openFleetStore, redact } = await import('../fleet/store.js');
  let store;
  try {
    store = await openFleetStore(storeUrl);
  } catch (e) {
    process.stderr.write(`iec104 collect: ${(e as Error).message}\n`);
    return 3;
  }
  const { startCollector } = await import('../fleet/collector.js');
  const collector = await startCollector({ from, store, durable, stream, clientId, batchSize, retainMs, log });
  log({ event: 'collecting', from, store: redact(storeUrl), dialect: store.dialect, schema: await store.schemaVersion() });
  let view: { url: string; close(): Promise<void> } | undefined;
  if (ui) {
    const { startFleetUi } = await import('../fleet/fleet-ui.js');
    try {
      view = await startFleetUi({ store, stats: () => collector.stats(), host: ui.host, port: ui.port });
    } catch (e) {
      await collector.close();
      await store.close();
      process.stderr.write(`iec104 collect: --ui: ${(e as Error).message}\n`);
      return 2;
    }
    process.stdout.write(`fleet view: ${view.url}\n`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await view?.close();
  await collector.close();
  const s = collector.stats();
  log({ event: 'stopped', received: s.received, stored: s.stored, duplicates: s.duplicates, bad: s.bad });
  await store.close();
  return 0;
}

export const command: CliCommand = { summary: 'consume sensors from NATS/MQTT into SQLite/PostgreSQL; fleet view', help: HELP, run };
