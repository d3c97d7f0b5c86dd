/**
 * `--ui [ADDR:]PORT` and `--ui-commands`, shared by serve, connect, proxy, analyze and demo: take
 * the flags out of the argument list, then start the web workbench (src/web) on what the command
 * built and print its URL (and token, off loopback) on stderr.
 */
import { UsageError } from './args.js';
import { parseUiAddress, startWorkbench, type Workbench, type WorkbenchOptions } from '../web/server.js';

/** Help lines of the flags, for the commands' `--help`. */
export const UI_HELP = `  --ui [ADDR:]PORT  serve the web workbench (default address 127.0.0.1; any other address
                    needs the token printed at start); see docs/web.md
  --ui-commands     let the page send commands (select, execute; default read-only)`;

/** The flags found. */
export interface UiFlags {
  ui?: { host: string; port: number };
  commands: boolean;
}

/** Remove `--ui X` / `--ui=X` / `--ui-commands` from `argv` (in place) and return them. Throws {@link UsageError} on a bad address. */
export function takeUiFlags(argv: string[]): UiFlags {
  const out: UiFlags = { commands: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--ui-commands') {
      out.commands = true;
      argv.splice(i--, 1);
    } else if (a === '--ui' || a.startsWith('--ui=')) {
      const v = a === '--ui' ? argv[i + 1] : a.slice(5);
      if (v === undefined || v.startsWith('--')) throw new UsageError('--ui needs [ADDR:]PORT, e.g. --ui 8104');
      try {
        out.ui = parseUiAddress(v);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      argv.splice(i, a === '--ui' ? 2 : 1);
      i--;
    }
  }
  return out;
}

/**
 * {@link takeUiFlags} for a command's runner: a bad `--ui` value is written to `stderr` as the
 * command's usage error (`iec104 NAME: … Run 'iec104 NAME --help' for usage.`) and gives undefined
 * (the caller exits 2).
 */
export function takeUiFlagsOrUsage(argv: string[], name: string, stderr: { write(s: string): unknown }): UiFlags | undefined {
  try {
    return takeUiFlags(argv);
  } catch (e) {
    stderr.write(`iec104 ${name}: ${(e as Error).message}\n\nRun 'iec104 ${name} --help' for usage.\n`);
    return undefined;
  }
}

/** Start the workbench when `--ui` was given; prints where it listens. */
export async function startUi(flags: UiFlags, sources: Omit<WorkbenchOptions, 'host' | 'port' | 'commands'>): Promise<Workbench | undefined> {
  if (!flags.ui) return undefined;
  const wb = await startWorkbench({ ...sources, host: flags.ui.host, port: flags.ui.port, commands: flags.commands });
  process.stderr.write(`workbench: ${wb.url}${flags.commands ? ' (commands enabled)' : ' (read-only)'}\n`);
  if (wb.token) process.stderr.write(`workbench: listening on ${wb.host}:${wb.port}, token ${wb.token} (send it as Authorization: Bearer TOKEN or ?token=TOKEN)\n`);
  return wb;
}
