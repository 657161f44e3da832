/**
 * The IVR's prompts as G.711 audio in memory. They are rendered by scripts/gen-prompts.sh (at image
 * build time into /app/prompts, or on first use into a cache folder named after the texts' hash) and
 * loaded once per process.
 */
import { spawn } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lawForPayloadType, type G711Law } from './g711.ts';
import { PROMPT_NAMES, manifestHash, promptManifest, type PromptName } from './prompt-texts.ts';

export type { PromptName } from './prompt-texts.ts';

const GENERATOR = fileURLToPath(new URL('../../scripts/gen-prompts.sh', import.meta.url));
const FILE_EXTENSION: Record<G711Law, string> = { mulaw: 'pcmu', alaw: 'pcma' };

export class PromptToolsMissingError extends Error {
  constructor(tool: string) {
    super(`cannot generate the IVR prompts: ${tool} is not installed; install the Debian packages espeak-ng and sox (apt-get install espeak-ng sox)`);
    this.name = 'PromptToolsMissingError';
  }
}

export interface PromptSet {
  readonly dir: string;
  /** The prompt as raw G.711 bytes, one byte per 8 kHz sample. */
  audio(name: PromptName, law: G711Law): Buffer;
  /** The same, picked by the negotiated RTP payload type (0 PCMU, 8 PCMA). */
  forPayloadType(name: PromptName, payloadType: number): Buffer;
}

export interface LoadPromptsOptions {
  /** Where the audio lives; default $HOTDESK_PROMPTS_DIR, else the cache folder for these texts. */
  dir?: string;
  /** Environment for finding and running the generator (PATH, HOME); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export function defaultPromptsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOTDESK_PROMPTS_DIR) return env.HOTDESK_PROMPTS_DIR;
  const home = env.HOME ?? homedir();
  return join(home, '.cache', 'hotdesk-operator', `prompts-${manifestHash(promptManifest())}`);
}

async function isComplete(dir: string, hash: string): Promise<boolean> {
  try {
    return (await readFile(join(dir, '.complete'), 'utf8')).trim() === hash;
  } catch {
    return false;
  }
}

async function findOnPath(tool: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const folder of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      await access(join(folder, tool), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

function runGenerator(dir: string, manifest: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [GENERATOR, dir, '-'], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`scripts/gen-prompts.sh exited with ${code}: ${stderr.trim()}`));
    });
    child.stdin.on('error', () => undefined); // an early exit is reported by its exit code
    child.stdin.end(manifest);
  });
}

const loading = new Map<string, Promise<PromptSet>>();

/** Loads every prompt, generating the audio first if the folder is missing or holds other texts. */
export function loadPrompts(opts: LoadPromptsOptions = {}): Promise<PromptSet> {
  const env = opts.env ?? process.env;
  const dir = opts.dir ?? defaultPromptsDir(env);
  let pending = loading.get(dir);
  if (!pending) {
    pending = load(dir, env);
    loading.set(dir, pending);
    // A failure (tools missing) must not stick: the next call tries again once they are installed.
    pending.catch(() => loading.delete(dir));
  }
  return pending;
}

async function load(dir: string, env: NodeJS.ProcessEnv): Promise<PromptSet> {
  const manifest = promptManifest();
  if (!(await isComplete(dir, manifestHash(manifest)))) {
    for (const tool of ['espeak-ng', 'sox']) {
      if (!(await findOnPath(tool, env))) throw new PromptToolsMissingError(tool);
    }
    await runGenerator(dir, manifest, env);
  }
  const audio = new Map<string, Buffer>();
  for (const name of PROMPT_NAMES) {
    for (const law of ['mulaw', 'alaw'] as const) {
      audio.set(`${name}.${law}`, await readFile(join(dir, `${name}.${FILE_EXTENSION[law]}`)));
    }
  }
  const get = (name: PromptName, law: G711Law): Buffer => {
    const found = audio.get(`${name}.${law}`);
    if (!found) throw new Error(`unknown prompt "${name}"`);
    return found;
  };
  return {
    dir,
    audio: get,
    forPayloadType: (name, payloadType) => get(name, lawForPayloadType(payloadType)),
  };
}
