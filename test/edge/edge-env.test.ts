import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';

const EDGE = new URL('../../src/cmd/edge.ts', import.meta.url).pathname;

function runEdge(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [EDGE], { env: { PATH: process.env.PATH ?? '', HOTDESK_POOL: 'office', HOTDESK_NAMESPACE: 'net', ...env }, timeout: 20_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr });
    });
  });
}

const cases: Array<{ ports: string; error: RegExp }> = [
  { ports: '20001-20001', error: /HOTDESK_RTP_PORTS: the range 20001-20001 holds no even port/ },
  { ports: '20000:20062', error: /HOTDESK_RTP_PORTS: a port range is written min-max/ },
];

for (const c of cases) {
  test(`the edge refuses to start with HOTDESK_RTP_PORTS=${c.ports}, saying why`, async () => {
    const { code, stderr } = await runEdge({ HOTDESK_RTP_PORTS: c.ports });
    assert.equal(code, 2, stderr);
    assert.match(stderr, c.error);
  });
}

for (const port of ['abc', '0', '70000', '']) {
  test(`the edge refuses to start with HOTDESK_MEDIA_RELAY_PORT=${JSON.stringify(port)}, saying why`, async () => {
    const { code, stderr } = await runEdge({ HOTDESK_RTP_PORTS: '20000-20062', HOTDESK_MEDIA_RELAY_PORT: port });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /HOTDESK_MEDIA_RELAY_PORT must be a port, 1-65535/);
  });
}
