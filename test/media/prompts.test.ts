import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeG711 } from '../../src/media/g711.ts';
import { PROMPT_NAMES, PROMPT_TEXTS, manifestHash, promptManifest } from '../../src/media/prompt-texts.ts';
import { PromptToolsMissingError, defaultPromptsDir, loadPrompts } from '../../src/media/prompts.ts';

const run = promisify(execFile);

test('generates every prompt as 8 kHz G.711 speech, both laws, and a second run leaves it alone', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'hotdesk-prompts-'));
  t.after(() => rm(parent, { recursive: true, force: true }));
  const dir = join(parent, 'prompts');
  const prompts = await loadPrompts({ dir });
  assert.equal(prompts.dir, dir);

  for (const name of PROMPT_NAMES) {
    const mulaw = prompts.audio(name, 'mulaw');
    const alaw = prompts.audio(name, 'alaw');
    assert.equal(mulaw.length, alaw.length, name);
    // espeak-ng speaks about 2-3 words a second: at least 0.15 s of audio per word.
    const words = PROMPT_TEXTS[name].split(' ').length;
    assert.ok(mulaw.length >= words * 0.15 * 8000, `${name}: ${mulaw.length} samples for ${words} words`);
    assert.ok(mulaw.length <= words * 1.0 * 8000, `${name}: ${mulaw.length} samples for ${words} words`);
    // Speech, not silence: the loudest part is near the -3 dB the generator normalises to.
    const pcm = decodeG711('mulaw', mulaw);
    const peak = Math.max(...Array.from(pcm, Math.abs));
    assert.ok(peak > 16000, `${name}: peak ${peak}`);
    assert.deepEqual(prompts.forPayloadType(name, 8), alaw);
  }

  const stamp = join(dir, '.complete');
  assert.equal((await readFile(stamp, 'utf8')).trim(), manifestHash(promptManifest()));
  const before = (await stat(join(dir, 'enter-pin.pcmu'))).mtimeMs;
  const { stdout } = await run('bash', ['scripts/gen-prompts.sh', dir]);
  assert.equal(stdout.trim(), dir);
  assert.equal((await stat(join(dir, 'enter-pin.pcmu'))).mtimeMs, before, 'an up-to-date folder is not regenerated');
});

test('our G.711 decoder agrees with sox on the generated µ-law and A-law audio', async () => {
  const prompts = await loadPrompts();
  for (const [law, encoding] of [
    ['mulaw', 'u-law'],
    ['alaw', 'a-law'],
  ] as const) {
    const file = join(prompts.dir, `login-ok.${law === 'mulaw' ? 'pcmu' : 'pcma'}`);
    const { stdout } = await run('sox', ['-t', 'raw', '-r', '8000', '-c', '1', '-e', encoding, '-b', '8', file, '-t', 'raw', '-e', 'signed', '-b', '16', '-L', '-'], {
      encoding: 'buffer',
      maxBuffer: 1 << 24,
    });
    const theirs = new Int16Array(stdout.buffer, stdout.byteOffset, stdout.length / 2);
    const ours = decodeG711(law, prompts.audio('login-ok', law));
    assert.equal(ours.length, theirs.length);
    assert.deepEqual(Array.from(ours), Array.from(theirs), `${law} decoding differs from sox`);
  }
});

test('the default folder is in the user cache and named after the texts; HOTDESK_PROMPTS_DIR overrides it', () => {
  const hash = manifestHash(promptManifest());
  assert.equal(defaultPromptsDir({ HOME: '/home/desk' }), `/home/desk/.cache/hotdesk-operator/prompts-${hash}`);
  assert.equal(defaultPromptsDir({ HOME: '/home/desk', HOTDESK_PROMPTS_DIR: '/app/prompts' }), '/app/prompts');
  assert.notEqual(manifestHash(promptManifest({ ...PROMPT_TEXTS, 'login-ok': 'Welcome.' })), hash);
});

test('without espeak-ng the loader names the Debian packages to install', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'hotdesk-prompts-'));
  t.after(() => rm(parent, { recursive: true, force: true }));
  await assert.rejects(loadPrompts({ dir: join(parent, 'missing'), env: { PATH: join(parent, 'empty-bin'), HOME: parent } }), (err: unknown) => {
    assert.ok(err instanceof PromptToolsMissingError);
    assert.match(err.message, /espeak-ng is not installed/);
    assert.match(err.message, /apt-get install espeak-ng sox/);
    return true;
  });
});

test('the script itself refuses to run without espeak-ng, with the same advice', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'hotdesk-prompts-'));
  t.after(() => rm(parent, { recursive: true, force: true }));
  // PATH keeps bash's basic tools but not /usr/bin, where Debian installs espeak-ng.
  const result = await run('/bin/bash', ['scripts/gen-prompts.sh', join(parent, 'out'), '-'], { env: { PATH: join(parent, 'nothing') } }).catch((err: { code: number; stderr: string }) => err);
  assert.equal((result as { code: number }).code, 3);
  assert.match((result as { stderr: string }).stderr, /install the Debian packages espeak-ng and sox/);
});
