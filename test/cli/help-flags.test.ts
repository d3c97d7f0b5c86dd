/**
 * Every long option a command's parser accepts is documented in that command's `--help`.
 *
 * The accepted options are found by behaviour, not by reading the parser: every `--flag` spelled
 * anywhere in src/cli is offered to each command (followed by two unknown options, so that a flag
 * taking a value consumes the first and the second stops the parse), and a flag the parser does
 * not refuse as unknown must appear in the help text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { runServe, command as serveCommand } from '../../src/cli/serve.js';
import { runConnect, command as connectCommand } from '../../src/cli/connect.js';
import { runCommandSend, command as commandCommand } from '../../src/cli/command-send.js';
import { runFiles, command as filesCommand } from '../../src/cli/files.js';
import { runProxy, command as proxyCommand } from '../../src/cli/proxy.js';
import { runAnalyze, command as analyzeCommand } from '../../src/cli/analyze.js';
import { command as probeCommand } from '../../src/cli/probe.js';

const cliDir = fileURLToPath(new URL('../../src/cli', import.meta.url));
const STOP = '--zz-not-an-option';

/** Every `--flag` spelled in the CLI sources: the candidates. */
function candidateFlags(): string[] {
  const out = new Set<string>();
  for (const name of readdirSync(cliDir)) {
    if (!name.endsWith('.ts')) continue;
    for (const m of readFileSync(join(cliDir, name), 'utf8').matchAll(/--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)/g)) out.add(`--${m[1]}`);
  }
  // parseArgs option tables spell their keys without dashes: add the keys of the shared tables too.
  for (const m of readFileSync(join(cliDir, 'args.ts'), 'utf8').matchAll(/^\s+'?([a-z][a-z0-9-]*)'?: \{ type: '(?:string|boolean)'/gm)) out.add(`--${m[1]}`);
  return [...out].sort();
}

type Runner = (argv: string[], err: { write(s: string): unknown }) => Promise<unknown>;

const aborted = AbortSignal.abort();
const out = { write: (): boolean => true };

const COMMANDS: Array<{ name: string; help: string; run: Runner }> = [
  { name: 'serve', help: serveCommand.help, run: (argv, stderr) => runServe(argv, { stdout: out, stderr, signal: aborted }) },
  { name: 'connect', help: connectCommand.help, run: (argv, stderr) => runConnect(argv, { stdout: out, stderr, isTTY: false, signal: aborted }) },
  { name: 'command', help: commandCommand.help, run: (argv, stderr) => runCommandSend(argv, { stdout: out, stderr }) },
  { name: 'files', help: filesCommand.help, run: (argv, stderr) => runFiles(argv, { stdout: out, stderr, signal: aborted }) },
  { name: 'proxy', help: proxyCommand.help, run: (argv, stderr) => runProxy(argv, { stdout: out, stderr, stopped: async () => {} }) },
  {
    name: 'analyze',
    help: analyzeCommand.help,
    run: (argv, stderr) =>
      runAnalyze(argv, {
        stdout: process.stdout,
        stderr,
        open: () => {
          throw new Error('no capture is opened by this test');
        },
      }),
  },
  {
    name: 'probe',
    help: probeCommand.help,
    run: async (argv, stderr) => {
      // probe writes to the process's streams: catch them for the call.
      const write = process.stderr.write.bind(process.stderr);
      const writeOut = process.stdout.write.bind(process.stdout);
      process.stderr.write = ((s: string) => stderr.write(String(s))) as typeof process.stderr.write;
      process.stdout.write = (() => true) as typeof process.stdout.write;
      try {
        return await probeCommand.run(argv);
      } finally {
        process.stderr.write = write;
        process.stdout.write = writeOut;
      }
    },
  },
];

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('the probe flag finds an unknown option and a known one (the method works)', async () => {
  let text = '';
  await COMMANDS[0].run(['--zz-unknown', STOP, STOP], { write: (s: string) => (text += s) });
  assert.match(text, /unknown option '--zz-unknown'/i);
  text = '';
  await COMMANDS[0].run(['--port', STOP, STOP], { write: (s: string) => (text += s) });
  assert.doesNotMatch(text, /unknown option '--port'/i);
});

for (const c of COMMANDS) {
  test(`every option ${c.name} accepts is in its --help`, async () => {
    const accepted: string[] = [];
    for (const flag of candidateFlags()) {
      let text = '';
      const code = await c.run([flag, STOP, STOP], { write: (s: string) => (text += s) });
      assert.notEqual(code, 0, `${c.name} ${flag}: the parse must stop at ${STOP}`);
      if (!new RegExp(`unknown (?:option|argument) '${escape(flag)}'`, 'i').test(text)) accepted.push(flag);
    }
    assert.ok(accepted.length >= 3, `${c.name}: accepted ${accepted.join(' ')}`);
    const undocumented = accepted.filter((f) => !new RegExp(`${escape(f)}(?![a-z0-9-])`).test(c.help));
    assert.deepEqual(undocumented, [], `${c.name} accepts options its --help does not name`);
    // And the other way: an option line of the help names an option the parser accepts.
    const listed = [...c.help.matchAll(/^ {2,4}(?:-[a-zA-Z], )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]).filter((f) => f !== '--help');
    const unknown = listed.filter((f) => !accepted.includes(f));
    assert.deepEqual(unknown, [], `${c.name} --help names options its parser refuses`);
  });
}
