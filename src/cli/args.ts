import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { parseDuration } from '../policy/duration.ts';
import { COMMAND_NAMES, type CommandName } from './usage.ts';

/** Something wrong with the command line: printed with a usage hint, exit code 2. */
export class UsageError extends Error {
  readonly command: CommandName | undefined;
  constructor(message: string, command?: CommandName) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

export type OutputFormat = 'table' | 'json' | 'yaml';

export interface Connection {
  kubeconfig: string | undefined;
  context: string | undefined;
  namespace: string | undefined;
}

export type Invocation =
  | { command: 'help'; topic: CommandName | undefined }
  | { command: 'who' | 'devices'; connection: Connection; allNamespaces: boolean; output: OutputFormat }
  | { command: 'login'; connection: Connection; device: string; extension: string; waitMs: number; output: OutputFormat }
  | { command: 'logout'; connection: Connection; target: string };

const GLOBAL_OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

const COMMAND_OPTIONS = {
  who: { 'all-namespaces': { type: 'boolean', short: 'A' }, output: { type: 'string', short: 'o' } },
  devices: { 'all-namespaces': { type: 'boolean', short: 'A' }, output: { type: 'string', short: 'o' } },
  login: { wait: { type: 'string' }, output: { type: 'string', short: 'o' } },
  logout: {},
} as const satisfies Record<CommandName, ParseArgsOptionsConfig>;

/** Every option any command knows, so the command word can be found wherever flags are placed. */
const ANY_OPTION: ParseArgsOptionsConfig = Object.assign({}, GLOBAL_OPTIONS, ...Object.values(COMMAND_OPTIONS));

const DEFAULT_WAIT_MS = 30_000;

function isCommand(word: string): word is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(word);
}

/** Finds the command word; global flags may come before or after it, as with kubectl. */
function findCommand(argv: string[]): { word: string | undefined; index: number } {
  const { tokens } = parseArgs({ args: argv, options: ANY_OPTION, strict: false, allowPositionals: true, tokens: true });
  const first = tokens.find((t) => t.kind === 'positional');
  return first?.kind === 'positional' ? { word: first.value, index: first.index } : { word: undefined, index: -1 };
}

function parseOutput(value: string | undefined, command: CommandName): OutputFormat {
  if (value === undefined) return 'table';
  if (value === 'json' || value === 'yaml') return value;
  throw new UsageError(`unable to match a printer suitable for the output format "${value}", allowed formats are: json, yaml`, command);
}

function parseWait(value: string | undefined): number {
  if (value === undefined) return DEFAULT_WAIT_MS;
  // kubectl's own --timeout/--wait flags accept a bare 0.
  if (value === '0') return 0;
  try {
    return parseDuration(value);
  } catch {
    throw new UsageError(`invalid --wait "${value}": use a duration such as 30s, 2m or 0`, 'login');
  }
}

function expectPositionals(command: CommandName, got: string[], names: string[]): void {
  if (got.length === names.length) return;
  const problem = got.length < names.length ? `${names.slice(got.length).join(' and ')} required` : `unexpected argument "${got[names.length]}"`;
  throw new UsageError(`${command}: ${problem}`, command);
}

/** Turns the plugin's arguments (as kubectl passes them, without "hotdesk") into an invocation. */
export function parseCommandLine(args: string[]): Invocation {
  // kubectl's flag library also takes "-n=hq" for "-n hq"; node's parser would keep the "=".
  const argv = args.flatMap((a) => (/^-[a-zA-Z]=/.test(a) ? [a.slice(0, 2), a.slice(3)] : [a]));
  const { word, index } = findCommand(argv);
  if (word === undefined || word === 'help') {
    const topic = word === 'help' ? argv.slice(index + 1).find((a) => !a.startsWith('-')) : undefined;
    if (topic !== undefined && !isCommand(topic)) throw new UsageError(`unknown command "${topic}"`);
    return { command: 'help', topic };
  }
  if (!isCommand(word)) throw new UsageError(`unknown command "${word}"`);

  const rest = [...argv.slice(0, index), ...argv.slice(index + 1)];
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...COMMAND_OPTIONS[word] }, strict: true, allowPositionals: true });
  } catch (err) {
    // node's messages are precise but mention its own API; keep the part users can act on.
    const message = err instanceof Error ? err.message.split('. To specify a positional')[0]! : String(err);
    throw new UsageError(message, word);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { command: 'help', topic: word };

  const connection: Connection = {
    kubeconfig: values.kubeconfig as string | undefined,
    context: values.context as string | undefined,
    namespace: values.namespace as string | undefined,
  };
  const positionals = parsed.positionals;
  switch (word) {
    case 'who':
    case 'devices': {
      expectPositionals(word, positionals, []);
      // As with kubectl, --all-namespaces wins over --namespace.
      const allNamespaces = values['all-namespaces'] === true;
      return { command: word, connection, allNamespaces, output: parseOutput(values.output as string | undefined, word) };
    }
    case 'login':
      expectPositionals(word, positionals, ['DEVICE', 'EXTENSION']);
      return {
        command: word,
        connection,
        device: positionals[0]!,
        extension: positionals[1]!,
        waitMs: parseWait(values.wait as string | undefined),
        output: parseOutput(values.output as string | undefined, word),
      };
    case 'logout':
      expectPositionals(word, positionals, ['DEVICE|MAC|EXTENSION']);
      return { command: word, connection, target: positionals[0]! };
  }
}
