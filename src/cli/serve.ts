/**
 * `iec104 serve`: an RTU simulator. Loads a station configuration (YAML or JSON, see
 * src/station/config.ts), listens for IEC 104 masters, simulates changes, executes commands
 * according to the configured behaviour.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, type LogLevel } from '../log.js';
import { StationConfigError, parseStationConfig } from '../station/config.js';
import { startSimulations } from '../station/simulator.js';
import { createStation, StationError } from '../station/station.js';
import type { CliCommand } from './command.js';

const HELP = `usage: iec104 serve [CONFIG] [--host H] [--port N] [options]

Run a controlled station (RTU simulator) from a YAML or JSON configuration file:
common addresses, points (IOA, type, initial value), simulated changes (random walk,
toggles, periodic, counters) and command behaviour (accept, reject, delay, feedback point).
Without CONFIG, the bundled examples/substation.yaml is used.

options:
  --host H             listen address (default: the file's listen.host, else 0.0.0.0)
  --port N             TCP port (default: the file's listen.port, else 2404; 0 = any free port)
  --check              validate the configuration, print a summary and exit
  --no-simulate        do not run the simulated changes
  --log-level L        debug | info | warn | error (default info)
  --log-format F       pretty (default on a terminal) | json
  -h, --help           this text

example:
  $ iec104 serve examples/substation.yaml --port 2404
  ... INFO  station.listening listening on 0.0.0.0:2404
  $ iec104 serve my-rtu.yaml --check
  my-rtu.yaml: points[3].type: unknown type 'M_XX'

Stop with Ctrl-C (SIGINT) or SIGTERM: connections are closed and the process exits 0.

exit codes:
  0  stopped by a signal, or --check found the configuration valid
  1  the station could not start (port in use, permission denied)
  2  usage error, or the configuration file is missing or invalid (the message names the
     path in the file, e.g. points[3].type)`;

/** The bundled examples/substation.yaml (works from src/ and from dist/). */
export function defaultConfigPath(): string {
  // src/cli/serve.ts or dist/src/cli/serve.js → package root
  const here = dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${join('dist', 'src')}`) ? join(here, '..', '..', '..') : join(here, '..', '..');
  return join(up, 'examples', 'substation.yaml');
}

interface Args {
  config?: string;
  host?: string;
  port?: number;
  check: boolean;
  simulate: boolean;
  level: LogLevel;
  format: 'json' | 'pretty';
}

function parseArgs(argv: string[]): Args | string {
  const a: Args = { check: false, simulate: true, level: 'info', format: process.stderr.isTTY ? 'pretty' : 'json' };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const val = (): string | undefined => argv[++i];
    switch (x) {
      case '--host': {
        const v = val();
        if (!v) return '--host needs a value';
        a.host = v;
        break;
      }
      case '--port': {
        const v = Number(val());
        if (!Number.isInteger(v) || v < 0 || v > 65535) return '--port needs an integer 0..65535';
        a.port = v;
        break;
      }
      case '--check': a.check = true; break;
      case '--no-simulate': a.simulate = false; break;
      case '--log-level': {
        const v = val();
        if (v !== 'debug' && v !== 'info' && v !== 'warn' && v !== 'error') return '--log-level must be debug, info, warn or error';
        a.level = v;
        break;
      }
      case '--log-format': {
        const v = val();
        if (v !== 'json' && v !== 'pretty') return '--log-format must be json or pretty';
        a.format = v;
        break;
      }
      default:
        if (x.startsWith('-')) return `unknown option '${x}'`;
        if (a.config) return `unexpected argument '${x}'`;
        a.config = x;
    }
  }
  return a;
}

/** The `serve` sub-command. */
export const command: CliCommand = {
  summary: 'run an RTU simulator (controlled station) from a YAML/JSON config',
  help: HELP,
  async run(argv) {
    const args = parseArgs(argv);
    if (typeof args === 'string') {
      process.stderr.write(`iec104 serve: ${args}\n\n${HELP}\n`);
      return 2;
    }
    const file = args.config ?? defaultConfigPath();
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      process.stderr.write(`iec104 serve: cannot read ${file}: ${(e as Error).message}\n`);
      return 2;
    }
    let cfg;
    try {
      cfg = parseStationConfig(text, /\.json$/i.test(file) ? 'json' : undefined);
    } catch (e) {
      if (e instanceof StationConfigError) {
        process.stderr.write(`${file}: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
    const logger = createLogger({ level: args.level, format: args.format });
    let station;
    try {
      station = createStation({ ...cfg.station, logger });
    } catch (e) {
      if (e instanceof StationError) {
        process.stderr.write(`${file}: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
    if (args.check) {
      const s = station.stats();
      process.stdout.write(`${file}: valid — ${s.points} point(s), ${s.commandObjects} command object(s), common address(es) ${s.commonAddresses.join(', ')}, ${cfg.simulations.length} simulation(s)\n`);
      await station.close();
      return 0;
    }
    const host = args.host ?? cfg.listen.host;
    const port = args.port ?? cfg.listen.port;
    try {
      await station.listen({ host, port });
    } catch (e) {
      process.stderr.write(`iec104 serve: cannot listen on ${host}:${port}: ${(e as Error).message}\n`);
      await station.close();
      return 1;
    }
    const stopSims = args.simulate ? startSimulations(station, cfg.simulations, { logger: logger.child({ component: 'simulator' }) }) : () => {};
    // keep the process alive: station timers are unref'd, the server keeps the loop busy
    return new Promise<number>((resolve) => {
      const stop = (sig: string) => {
        logger.log('info', 'station.stopping', `${sig} received: closing`, {});
        stopSims();
        station.close().then(() => resolve(0), () => resolve(1));
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
  },
};
