import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine, UsageError } from '../../src/cli/args.ts';

test('commands, their arguments and flags parse wherever the global flags are placed', () => {
  const none = { kubeconfig: undefined, context: undefined, namespace: undefined };
  const cases: [string[], unknown][] = [
    [['who'], { command: 'who', connection: none, allNamespaces: false, output: 'table' }],
    [['-n', 'hq', 'who', '-o', 'json'], { command: 'who', connection: { ...none, namespace: 'hq' }, allNamespaces: false, output: 'json' }],
    [['who', '-A', '-n', 'hq'], { command: 'who', connection: { ...none, namespace: 'hq' }, allNamespaces: true, output: 'table' }],
    [['--kubeconfig', '/k', '--context=prod', 'devices', '--all-namespaces', '-o=yaml'],
      { command: 'devices', connection: { kubeconfig: '/k', context: 'prod', namespace: undefined }, allNamespaces: true, output: 'yaml' }],
    [['login', 'desk-1', '101'], { command: 'login', connection: none, device: 'desk-1', extension: '101', waitMs: 30_000, output: 'table' }],
    [['login', 'desk-1', '101', '--wait=0'], { command: 'login', connection: none, device: 'desk-1', extension: '101', waitMs: 0, output: 'table' }],
    [['login', '--wait', '1m30s', 'desk-1', '101', '-o', 'json'], { command: 'login', connection: none, device: 'desk-1', extension: '101', waitMs: 90_000, output: 'json' }],
    [['logout', '00:15:65:aa:bb:cc', '--namespace=hq'], { command: 'logout', connection: { ...none, namespace: 'hq' }, target: '00:15:65:aa:bb:cc' }],
  ];
  for (const [argv, expected] of cases) assert.deepEqual(parseCommandLine(argv), expected, argv.join(' '));
});

test('help is asked for with no command, "help [command]", or --help anywhere', () => {
  const cases: [string[], unknown][] = [
    [[], { command: 'help', topic: undefined }],
    [['--help'], { command: 'help', topic: undefined }],
    [['help'], { command: 'help', topic: undefined }],
    [['help', 'login'], { command: 'help', topic: 'login' }],
    [['login', '--help'], { command: 'help', topic: 'login' }],
    [['-h', 'logout'], { command: 'help', topic: 'logout' }],
  ];
  for (const [argv, expected] of cases) assert.deepEqual(parseCommandLine(argv), expected, argv.join(' '));
});

test('bad command lines are usage errors that say what is wrong and for which command', () => {
  const cases: [string[], RegExp, string | undefined][] = [
    [['frob'], /unknown command "frob"/, undefined],
    [['help', 'frob'], /unknown command "frob"/, undefined],
    [['who', '--bogus'], /Unknown option '--bogus'/, 'who'],
    [['logout', '-A', 'desk-1'], /Unknown option '-A'/, 'logout'],
    [['who', 'extra'], /who: unexpected argument "extra"/, 'who'],
    [['login', 'desk-1'], /login: EXTENSION required/, 'login'],
    [['login'], /login: DEVICE and EXTENSION required/, 'login'],
    [['logout'], /logout: DEVICE\|MAC\|EXTENSION required/, 'logout'],
    [['logout', 'a', 'b'], /unexpected argument "b"/, 'logout'],
    [['login', 'd', '101', '--wait=soon'], /invalid --wait "soon"/, 'login'],
    [['devices', '-o', 'wide'], /output format "wide", allowed formats are: json, yaml/, 'devices'],
    [['who', '-n'], /'-n, --namespace <value>' argument missing/, 'who'],
  ];
  for (const [argv, message, command] of cases) {
    assert.throws(() => parseCommandLine(argv), (err: unknown) => {
      assert.ok(err instanceof UsageError, `${argv.join(' ')}: ${String(err)}`);
      assert.match(err.message, message);
      assert.equal(err.command, command);
      return true;
    });
  }
});
