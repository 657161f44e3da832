import { setTimeout as sleep } from 'node:timers/promises';
import { parseCommandLine, UsageError, type Invocation } from './args.ts';
import { CommandFailure, type CommandContext } from './commands/context.ts';
import { devices } from './commands/devices.ts';
import { login } from './commands/login.ts';
import { logout } from './commands/logout.ts';
import { who } from './commands/who.ts';
import { describeError } from './errors.ts';
import { HotDeskClient } from './hotdesk-client.ts';
import { ConfigError, loadTarget } from './kubeconfig.ts';
import { COMMAND_USAGE, ROOT_USAGE } from './usage.ts';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
};

function run(invocation: Exclude<Invocation, { command: 'help' }>, ctx: CommandContext): Promise<number> {
  switch (invocation.command) {
    case 'who':
    case 'devices':
      return (invocation.command === 'who' ? who : devices)(invocation, ctx);
    case 'login':
      return login(invocation, ctx);
    case 'logout':
      return logout(invocation, ctx);
  }
}

/** Runs `kubectl hotdesk` with the arguments after "hotdesk"; resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`error: ${err.message}\n`);
    io.stderr(err.command ? `See 'kubectl hotdesk ${err.command} --help' for usage.\n` : `\n${ROOT_USAGE}`);
    return 2;
  }
  if (invocation.command === 'help') {
    io.stdout(invocation.topic ? COMMAND_USAGE[invocation.topic] : ROOT_USAGE);
    return 0;
  }

  let server: string | undefined;
  try {
    const target = loadTarget(invocation.connection, io.env);
    server = target.kubeConfig.getCurrentCluster()?.server;
    return await run(invocation, {
      client: new HotDeskClient(target.kubeConfig),
      namespace: target.namespace,
      stdout: io.stdout,
      stderr: io.stderr,
      now: () => new Date(),
      sleep: (ms) => sleep(ms),
    });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof CommandFailure) io.stderr(`error: ${err.message}\n`);
    else io.stderr(`${describeError(err, server)}\n`);
    return 1;
  }
}
