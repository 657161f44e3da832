import type { OutputFormat } from '../args.ts';
import { renderDevices } from '../devices-view.ts';
import { asList, renderStructured } from '../output.ts';
import type { CommandContext } from './context.ts';

export async function devices(opts: { allNamespaces: boolean; output: OutputFormat }, ctx: CommandContext): Promise<number> {
  const found = await ctx.client.listDevices(opts.allNamespaces ? undefined : ctx.namespace);
  if (opts.output !== 'table') {
    ctx.stdout(renderStructured(asList(found), opts.output));
  } else if (found.length === 0) {
    ctx.stderr(opts.allNamespaces ? 'No resources found\n' : `No resources found in ${ctx.namespace} namespace.\n`);
  } else {
    ctx.stdout(renderDevices(found, { allNamespaces: opts.allNamespaces, now: ctx.now() }));
  }
  return 0;
}
