/**
 * What the IVR says: the one place the prompt texts live. scripts/gen-prompts.sh turns the manifest
 * printed by this module into audio, so the texts are never written twice. Run directly
 * (`node src/media/prompt-texts.ts`) it prints that manifest.
 */
import { createHash } from 'node:crypto';

export const PROMPT_TEXTS = {
  'enter-pin': 'Please enter your PIN, followed by the hash key.',
  // Yeastar's guest login (*93) asks for the extension before the PIN.
  'enter-extension': 'Please enter your extension, followed by the hash key.',
  'login-ok': 'You are logged in.',
  'logout-ok': 'You are logged out.',
  'pin-wrong': 'That PIN is not correct. Please try again.',
  'locked-out': 'Too many attempts. This desk is locked. Please try again later.',
  'not-permitted': 'Hot desking is not enabled for this extension.',
  error: 'Sorry, the login failed. Please try again later.',
} as const;

export type PromptName = keyof typeof PROMPT_TEXTS;

export const PROMPT_NAMES = Object.keys(PROMPT_TEXTS) as PromptName[];

/** One "name<TAB>text" line per prompt: the input format of scripts/gen-prompts.sh. */
export function promptManifest(texts: Readonly<Record<string, string>> = PROMPT_TEXTS): string {
  return Object.entries(texts)
    .map(([name, text]) => {
      if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`prompt name "${name}" must be lower-case letters, digits and dashes`);
      if (/[\t\r\n]/.test(text)) throw new Error(`prompt "${name}" must be one line without tabs`);
      return `${name}\t${text}\n`;
    })
    .join('');
}

/** Names the cache folder, so that changing a text regenerates the audio instead of reusing stale files. */
export function manifestHash(manifest: string): string {
  return createHash('sha256').update(manifest).digest('hex').slice(0, 16);
}

if (import.meta.main) process.stdout.write(promptManifest());
