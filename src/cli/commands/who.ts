import type { OutputFormat } from '../args.ts';
import { renderStructured } from '../output.ts';
import { deskOccupancy, renderWho } from '../who-view.ts';
import type { CommandContext } from './context.ts';

export async function who(opts: { allNamespaces: boolean; output: OutputFormat }, ctx: CommandContext): Promise<number> {
  const namespace = opts.allNamespaces ? undefined : ctx.namespace;
  const [devices, users, sessions] = await Promise.all([
    ctx.client.listDevices(namespace),
    ctx.client.listUsers(namespace),
    ctx.client.listSessions(namespace),
  ]);
  const desks = deskOccupancy(devices, users, sessions);
  if (opts.output !== 'table') {
    ctx.stdout(renderStructured(desks, opts.output));
  } else if (desks.length === 0) {
    ctx.stderr(opts.allNamespaces ? 'No desks found\n' : `No desks found in ${ctx.namespace} namespace.\n`);
  } else {
    ctx.stdout(renderWho(desks, { allNamespaces: opts.allNamespaces, now: ctx.now() }));
  }
  return 0;
}
