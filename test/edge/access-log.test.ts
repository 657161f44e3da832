import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { AccessLog, type AccessRecord } from '../../src/edge/access-log.ts';

function capture(level: string): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ name: 'hotdesk-edge', level, base: { pid: 4242, pool: 'floor-3' } }, { write: (line: string) => lines.push(line) });
  return { logger, lines };
}

test('an access-log line is the line pino would write for the same record, whatever the path holds', () => {
  const records: AccessRecord[] = [
    { remote: '10.1.2.3', method: 'GET', path: '/0015651234ab.cfg', status: 200, result: 'served', ms: 1.25 },
    { remote: '::ffff:10.1.2.3', method: 'HEAD', path: '/a"b\\c\n\u0001é☎.cfg?x=<y>', status: 404, result: 'not_found', ms: 0.031 },
    { remote: undefined, method: 'POST', path: undefined, status: 405, result: 'denied', ms: 0 },
  ];
  for (const record of records) {
    const ours = capture('info');
    const theirs = capture('info');
    new AccessLog(ours.logger.child({ provisioningWorker: true })).record(record);
    theirs.logger.child({ provisioningWorker: true }).info(record, 'provisioning');
    assert.equal(ours.lines.length, 1);
    assert.ok(ours.lines[0]!.endsWith('}\n'), 'one line per record');
    const strip = (line: string) => {
      const { time, ...rest } = JSON.parse(line) as Record<string, unknown>;
      assert.equal(typeof time, 'number');
      return rest;
    };
    assert.deepEqual(strip(ours.lines[0]!), strip(theirs.lines[0]!), JSON.stringify(record.path));
    assert.deepEqual(Object.keys(JSON.parse(ours.lines[0]!)), Object.keys(JSON.parse(theirs.lines[0]!)), 'the same key order');
  }
});

test('the access log follows the logger\'s level, also when it changes', () => {
  const { logger, lines } = capture('warn');
  const log = new AccessLog(logger);
  const record: AccessRecord = { remote: '10.1.2.3', method: 'GET', path: '/x.cfg', status: 200, result: 'served', ms: 1 };
  log.record(record);
  assert.equal(lines.length, 0);
  logger.level = 'debug';
  log.record(record);
  assert.equal(lines.length, 1);
});
