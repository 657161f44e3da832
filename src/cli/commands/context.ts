import type { HotDeskClient } from '../hotdesk-client.ts';

/** Everything a command needs from the outside world, so commands can be driven from tests. */
export interface CommandContext {
  client: HotDeskClient;
  /** The namespace from -n or the kubeconfig context. */
  namespace: string;
  stdout(text: string): void;
  stderr(text: string): void;
  now(): Date;
  sleep(ms: number): Promise<void>;
}

/** A failure the command explains itself: its message is printed as "error: ...", exit 1. */
export class CommandFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailure';
  }
}
