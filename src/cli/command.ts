/** Shape of one CLI sub-command module. */
export interface CliCommand {
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text: usage, options, an example, exit codes. */
  help: string;
  /** Run with the arguments after the command name; resolve to the exit code. */
  run(argv: string[]): Promise<number>;
}
