/**
 * `iec104 demo` (what `npm start` runs): the example substation (examples/substation.yaml) as a
 * controlled station on loopback and our controlling station talking to it — STARTDT, general
 * interrogation, counter interrogation, a select-before-operate breaker command with its
 * feedback, a set-point, a tap-changer step, a refused command, then live spontaneous data.
 * Composition only: everything here is library API.
 */
import { readFile } from 'node:fs/promises';
import { createLogger } from '../log.js';
import { parseStationConfig } from '../station/config.js';
import { startSimulations } from '../station/simulator.js';
import { createStation } from '../station/station.js';
import { ControllingStation } from '../master/master.js';
import { NegativeConfirmationError } from '../master/errors.js';
import { tcpConnector } from '../master/tcp.js';
import { formatTable, pointCells, POINT_COLUMNS, rttText, valueText } from '../master/format.js';
import { toPointValues, type PointValue } from '../master/points.js';
import { cotName } from '../codec/cause.js';
import { defaultConfigPath } from './serve.js';
import type { CliCommand } from './command.js';
import { startUi, takeUiFlags, UI_HELP } from './ui.js';

const HELP = `usage: iec104 demo [--duration S] [--config FILE] [--ui [ADDR:]PORT [--ui-commands]]

Runs the example substation (a controlled station on 127.0.0.1, any free port) and a
controlling station against it, and prints what happens on the wire in values:
STARTDT, general interrogation, counter interrogation, a select-before-operate breaker
command with its ACT_CON/ACT_TERM round trips and feedback, a set-point, a tap-changer step,
a command to an unknown address (negative confirmation, cause 47), then spontaneous data
for the given duration.

options:
  --duration S   seconds of live spontaneous data to show at the end (default 5)
  --config FILE  station configuration (default: the bundled examples/substation.yaml)
${UI_HELP}
                    with --ui the demo stays live (until Ctrl-C, or --duration S;
                    60 s when stdout is not a terminal)

example:
  $ npm start            # same as: iec104 demo --ui 8104 (open the printed URL)

exit codes:
  0  the demo ran through
  1  a step failed (the message says which)
  2  usage error`;

function say(line: string): void {
  process.stdout.write(line + '\n');
}

/** The `demo` sub-command. */
export const command: CliCommand = {
  summary: 'example substation and a master talking over loopback (npm start)',
  help: HELP,
  async run(argvIn) {
    const argv = [...argvIn];
    let ui;
    try {
      ui = takeUiFlags(argv);
    } catch (e) {
      process.stderr.write(`iec104 demo: ${(e as Error).message}\n`);
      return 2;
    }
    // with the workbench the demo stays live until Ctrl-C on a terminal; run from a script (no
    // terminal on stdout) it ends by itself after a minute, so `npm start` never hangs a pipeline
    let duration = ui.ui && !argv.includes('--duration') ? (process.stdout.isTTY ? Infinity : 60) : 5;
    let config = defaultConfigPath();
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === '--duration') {
        duration = Number(argv[++i]);
        if (!Number.isFinite(duration) || duration < 0) {
          process.stderr.write('iec104 demo: --duration needs a number of seconds >= 0\n');
          return 2;
        }
      } else if (argv[i] === '--config') config = argv[++i] ?? config;
      else {
        process.stderr.write(`iec104 demo: unknown argument '${argv[i]}'\n\n${HELP}\n`);
        return 2;
      }
    }
    const cfg = parseStationConfig(await readFile(config, 'utf8'), /\.json$/i.test(config) ? 'json' : undefined);
    const logger = createLogger({ level: 'error', format: 'pretty' });
    const station = createStation({ ...cfg.station, logger: logger.child({ side: 'station' }) });
    const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
    const stopSims = startSimulations(station, cfg.simulations, {});
    const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false, pointImage: true, logger: logger.child({ side: 'master' }) });
    const nameOf = (p: { ca: number; ioa: number }): string => station.point(p.ca, p.ioa)?.name ?? station.commandPoint(p.ca, p.ioa)?.name ?? '';
    let wb;
    try {
      wb = await startUi(ui, { station, master, masterPeer: `127.0.0.1:${port}`, title: 'iec104 demo substation' });
    } catch (e) {
      process.stderr.write(`iec104 demo: ${(e as Error).message}\n`);
      stopSims();
      await station.close();
      return 1;
    }
    const table = (pts: PointValue[]): string =>
      formatTable([...POINT_COLUMNS, 'NAME'], pts.map((p) => [...pointCells(p), nameOf(p)]));
    try {
      say(`station: ${config} listening on 127.0.0.1:${port} (${station.stats().points} points)`);
      await master.connect();
      say('master: connected, STARTDT act -> STARTDT con\n');

      const gi = await master.interrogation(1);
      say(`general interrogation (C_IC_NA_1, QOI 20): ${gi.objects.length} objects in ${gi.asdus.length} ASDUs, ${rttText(gi.rtt)}`);
      say(table(gi.asdus.flatMap((a) => toPointValues(a))));

      const ci = await master.counterInterrogation(1, { rqt: 5, frz: 0 });
      say(`\ncounter interrogation (C_CI_NA_1, general request): ${ci.objects.length} counters, ${rttText(ci.rtt)}`);
      say(table(ci.asdus.flatMap((a) => toPointValues(a))));

      const feedback = new Promise<PointValue | undefined>((resolve) => {
        const onAsdu = (a: Parameters<typeof toPointValues>[0]) => {
          const hit = toPointValues(a).find((p) => p.ioa === 1031 && a.cot === 11);
          if (hit) {
            master.off('asdu', onAsdu);
            resolve(hit);
          }
        };
        master.on('asdu', onAsdu);
        setTimeout(() => resolve(undefined), 3000).unref();
      });
      const open = await master.send(1, 5031, { kind: 'double', value: 1 }, { sbo: true, until: 'actterm' });
      say(`\nC_DC_NA_1 select+execute OFF to IOA 5031 (${nameOf({ ca: 1, ioa: 5031 })}): positive, ${rttText(open.rtt)}`);
      const fb = await feedback;
      say(fb ? `  feedback: IOA 1031 ${fb.type} = ${valueText(fb)} (cause 11, ${cotName(11)})` : '  feedback: none within 3 s');

      const sp = await master.setpointFloat(1, 5200, 20.8);
      say(`C_SE_NC_1 set-point 20.8 to IOA 5200 (${nameOf({ ca: 1, ioa: 5200 })}): positive, ${rttText(sp.rtt)}`);
      const step = await master.regulatingStep(1, 5040, 'higher', { until: 'actterm' });
      say(`C_RC_NA_1 step HIGHER to IOA 5040 (${nameOf({ ca: 1, ioa: 5040 })}): positive, ${rttText(step.rtt)}`);
      try {
        await master.single(1, 9999, true);
        say('C_SC_NA_1 to IOA 9999: unexpectedly positive');
      } catch (e) {
        if (!(e instanceof NegativeConfirmationError)) throw e;
        say(`C_SC_NA_1 to unknown IOA 9999: negative confirmation, cause ${e.cot} (${cotName(e.cot)})`);
      }

      if (duration > 0) {
        say(`\nspontaneous data ${duration === Infinity ? 'until Ctrl-C' : `for ${duration} s`}:`);
        const onAsdu = (a: Parameters<typeof toPointValues>[0]) => {
          for (const p of toPointValues(a)) say(`  ${pointCells(p).join('  ')}  ${nameOf(p)}`);
        };
        master.on('asdu', onAsdu);
        await new Promise<void>((r) => {
          const stop = (): void => r();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          if (duration !== Infinity) setTimeout(stop, duration * 1000);
        });
        master.off('asdu', onAsdu);
      }
      const c = master.counters;
      say(`\nmaster counters: ${JSON.stringify(c)}`);
      return 0;
    } catch (e) {
      process.stderr.write(`iec104 demo: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
      return 1;
    } finally {
      await wb?.close();
      stopSims();
      await master.close();
      await station.close();
    }
  },
};
