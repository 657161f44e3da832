import { ApiException } from '@kubernetes/client-node';
import { describeSession, resolveLogoutTarget } from '../logout-target.ts';
import { CommandFailure, type CommandContext } from './context.ts';

export async function logout(opts: { target: string }, ctx: CommandContext): Promise<number> {
  const [devices, users, sessions] = await Promise.all([
    ctx.client.listDevices(ctx.namespace),
    ctx.client.listUsers(ctx.namespace),
    ctx.client.listSessions(ctx.namespace),
  ]);
  const resolution = resolveLogoutTarget(opts.target, { devices, users, sessions });
  if (resolution.found === 'nothing') {
    throw new CommandFailure(`"${opts.target}" is not a device name, a device MAC or a user's extension in namespace ${ctx.namespace}`);
  }
  if (resolution.found === 'nobody') throw new CommandFailure(`nobody is logged in: no active session for ${resolution.what}`);

  for (const session of resolution.sessions) {
    const name = session.metadata?.name ?? '';
    const what = describeSession(session, users);
    try {
      await ctx.client.deleteSession(ctx.namespace, name, session.metadata?.uid);
      ctx.stdout(`session ${name} ended: ${what}\n`);
    } catch (err) {
      // Someone (the controller, a logout at the desk) ended it between listing and deleting.
      if (err instanceof ApiException && err.code === 404) ctx.stdout(`session ${name} had already ended: ${what}\n`);
      else throw err;
    }
  }
  return 0;
}
