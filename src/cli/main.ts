#!/usr/bin/env node
/**
 * `iec104` command-line entry. Each sub-command lives in its own module exporting
 * `{ summary, help, run(argv): Promise<number> }` (see {@link CliCommand}); this file only dispatches.
 */
import type { CliCommand } from './command.js';

/** Sub-command name -> module file (relative to this one). Modules that are not there yet are left out of the list. */
const MODULES: Record<string, string> = {
  decode: './decode.js',
  serve: './serve.js',
  connect: './connect.js',
  command: './command-send.js',
  analyze: './analyze.js',
  demo: './demo.js',
  certs: './certs.js',
  probe: './probe.js',
  test: './test.js',
  measure: './measure.js',
  learn: './learn.js',
  proxy: './proxy.js',
  files: './files.js',
  collect: './collect.js',
};
const COMMANDS: Record<string, () => Promise<{ command: CliCommand }>> = Object.fromEntries(
  Object.entries(MODULES).map(([name, file]) => [name, () => import(file) as Promise<{ command: CliCommand }>]),
);

async function loadAll(): Promise<Array<[string, CliCommand | undefined]>> {
  const out: Array<[string, CliCommand | undefined]> = [];
  for (const [name, load] of Object.entries(COMMANDS)) {
    try {
      out.push([name, (await load()).command]);
    } catch {
      out.push([name, undefined]);
    }
  }
  return out;
}

/** The `exit codes:` section of a command's help as [code, meaning] pairs (continuation lines joined). */
export function exitCodesOf(help: string): Array<[string, string]> {
  const at = help.search(/^exit codes:/m);
  if (at < 0) return [];
  const out: Array<[string, string]> = [];
  for (const line of help.slice(at).split('\n').slice(1)) {
    const m = /^\s+(\d+)\s+(.*)$/.exec(line);
    if (m) out.push([m[1], m[2].trim()]);
    else if (line.trim() === '' || !/^\s/.test(line)) break;
    else if (out.length) out[out.length - 1][1] += ` ${line.trim()}`;
  }
  return out;
}

async function usage(): Promise<string> {
  const all = await loadAll();
  const lines = ['usage: iec104 <command> [options]', '', 'commands:'];
  for (const [name, c] of all) if (c) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', "Run 'iec104 <command> --help' for a command's options, an example and its exit codes.");
  lines.push('', 'exit codes (iec104 itself: 0 help shown, 1 unexpected error, 2 no or unknown command):');
  for (const [name, c] of all) {
    const codes = c ? exitCodesOf(c.help) : [];
    codes.forEach(([code, text], i) => lines.push(`  ${(i === 0 ? name : '').padEnd(10)} ${code.padStart(2)}  ${text}`));
  }
  return lines.join('\n');
}

/** Run the CLI with `argv` (without node and script). Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write((await usage()) + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write('iec104 0.1.0\n');
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`iec104: unknown command '${name}'\n\n${await usage()}\n`);
    return 2;
  }
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  return command.run(rest);
}

const isEntry = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`iec104: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
