import { ApiException } from '@kubernetes/client-node';
import { API_GROUP, KINDS } from '../../api/group.ts';
import type { OutputFormat } from '../args.ts';
import { formatAge } from '../age.ts';
import { loginOutcome } from '../login-outcome.ts';
import { renderStructured } from '../output.ts';
import type { SessionView } from '../resources.ts';
import { CommandFailure, type CommandContext } from './context.ts';

const POLL_MS = 500;

export async function login(opts: { device: string; extension: string; waitMs: number; output: OutputFormat }, ctx: CommandContext): Promise<number> {
  const users = (await ctx.client.listUsers(ctx.namespace)).filter((u) => u.spec?.extension === opts.extension);
  if (users.length === 0) throw new CommandFailure(`no ${KINDS.user.kind} with extension ${opts.extension} in namespace ${ctx.namespace}`);
  if (users.length > 1) {
    const names = users.map((u) => u.metadata?.name).join(', ');
    throw new CommandFailure(`extension ${opts.extension} belongs to several ${KINDS.user.kind}s in namespace ${ctx.namespace} (${names}); fix that first`);
  }
  const userName = users[0]!.metadata?.name ?? '';
  // Fails with the server's NotFound, worded as kubectl would, before anything is created.
  await ctx.client.getDevice(ctx.namespace, opts.device);

  const created = await ctx.client.createSession(ctx.namespace, {
    metadata: { generateName: `${opts.device}-` },
    spec: { device: opts.device, user: userName, origin: 'admin' },
  });
  const name = created.metadata?.name ?? '';
  const resource = `${KINDS.session.singular}.${API_GROUP}/${name}`;
  if (opts.waitMs <= 0) {
    ctx.stdout(opts.output === 'table' ? `${resource} created\n` : renderStructured(created, opts.output));
    return 0;
  }
  ctx.stderr(`${resource} created, waiting up to ${formatAge(opts.waitMs)} for the controller\n`);

  const who = `extension ${opts.extension} at ${opts.device}`;
  const deadline = ctx.now().getTime() + opts.waitMs;
  let session: SessionView = created;
  for (;;) {
    const outcome = loginOutcome(session, who);
    if (outcome.settled) {
      if (opts.output !== 'table') ctx.stdout(renderStructured(session, opts.output));
      if (outcome.ok) {
        if (opts.output === 'table') ctx.stdout(`${outcome.summary}\n`);
        return 0;
      }
      ctx.stderr(`error: ${outcome.summary}\n`);
      return 1;
    }
    if (ctx.now().getTime() >= deadline) {
      throw new CommandFailure(`timed out after ${formatAge(opts.waitMs)} waiting for ${who}: session ${name} is still ${outcome.phase} (is the controller running?)`);
    }
    await ctx.sleep(Math.min(POLL_MS, Math.max(0, deadline - ctx.now().getTime())));
    try {
      session = await ctx.client.getSession(ctx.namespace, name);
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) throw new CommandFailure(`session ${name} was deleted before it became active`);
      throw err;
    }
  }
}
