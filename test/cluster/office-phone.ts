// A desk phone on the office LAN (run inside its network namespace by the cluster suite), driven
// line by line on stdin, one JSON command per line, one JSON answer per line on stdout. It stays
// up between commands, so its SIP socket and the office NAT's binding for it live on, as a real
// phone's do, and the edge's NOTIFY reaches it through the NAT.
//   node test/cluster/office-phone.ts <own LAN address> <edge host> <edge port> <idle identity> <domain>
// Commands: {"op":"register","identity":"102"}, {"op":"login","number":"*77*102*","digits":"1357#"},
// {"op":"notify","count":1,"timeoutMs":30000} (waits until it has got `count` NOTIFYs in all), {"op":"call","number":"2000","holdMs":500}.
import { createInterface } from 'node:readline';
import { getHeader } from '../../src/sip/message.ts';
import { ScriptedPhone } from '../../src/demo/scripted-phone.ts';

const [lanAddress = '', host = '', port = '', identity = '', domain = ''] = process.argv.slice(2);
const phone = await ScriptedPhone.start({ identity, domain, edge: { host, port: Number(port) }, host: lanAddress });

type Command =
  | { op: 'register'; identity?: string; expires?: number }
  | { op: 'login'; number: string; digits: string }
  | { op: 'notify'; count: number; timeoutMs: number }
  | { op: 'call'; number: string; holdMs: number };

async function run(cmd: Command): Promise<object> {
  switch (cmd.op) {
    case 'register': {
      const reg = await phone.register(cmd.expires ?? 600, cmd.identity);
      return { status: reg.status, reason: reg.reason };
    }
    case 'login':
      return phone.dial(cmd.number, cmd.digits, { timeoutMs: 30_000 });
    case 'notify': {
      const deadline = Date.now() + cmd.timeoutMs;
      while (phone.notifies.length < cmd.count && Date.now() < deadline) await phone.nextNotify(deadline - Date.now());
      return { notifies: phone.notifies.map((n) => ({ uri: n.uri, event: getHeader(n, 'event') ?? '' })) };
    }
    case 'call':
      return phone.call(cmd.number, cmd.holdMs);
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer: object;
  try {
    answer = await run(JSON.parse(line) as Command);
  } catch (err) {
    answer = { error: err instanceof Error ? err.message : String(err) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
await phone.stop();
