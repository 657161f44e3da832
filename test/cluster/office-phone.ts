// A desk phone on the office LAN (run inside its network namespace by the cluster suite), driven
// line by line on stdin, one JSON command per line, one JSON answer per line on stdout. It stays
// up between commands, so its SIP socket and the office NAT's binding for it live on, as a real
// phone's do, and the edge's NOTIFY reaches it through the NAT.
//   node test/cluster/office-phone.ts <own LAN address> <edge host> <edge port> <idle identity> <domain> [udp|tcp]
// Commands: {"op":"register","identity":"102"}, {"op":"login","number":"*77*102*","digits":"1357#"},
// {"op":"notify","count":1,"timeoutMs":30000} (waits until it has got `count` NOTIFYs in all), {"op":"call","number":"2000","holdMs":500},
// {"op":"incoming","count":1,"timeoutMs":30000} (waits until `count` calls in all rang it, each answered, and
// for the callers to hang up; count 0 reports the calls so far at once).
import { createInterface } from 'node:readline';
import { getHeader } from '../../src/sip/message.ts';
import { ScriptedPhone } from '../../src/demo/scripted-phone.ts';

const [lanAddress = '', host = '', port = '', identity = '', domain = '', transport = 'udp'] = process.argv.slice(2);
if (transport !== 'udp' && transport !== 'tcp') throw new Error(`transport ${transport}: udp or tcp`);
const phone = await ScriptedPhone.start({ identity, domain, edge: { host, port: Number(port) }, host: lanAddress, transport });

type Command =
  | { op: 'register'; identity?: string; expires?: number }
  | { op: 'login'; number: string; digits: string }
  | { op: 'notify'; count: number; timeoutMs: number }
  | { op: 'call'; number: string; holdMs: number }
  | { op: 'incoming'; count: number; timeoutMs: number };

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
    case 'incoming': {
      const deadline = Date.now() + cmd.timeoutMs;
      while (phone.incomingCalls.length < cmd.count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const calls = [];
      for (const call of phone.incomingCalls) {
        const hungUp = cmd.count === 0 ? false : await call.ended(Math.max(0, deadline - Date.now()));
        calls.push({ uri: call.uri, from: call.from, source: call.source, hungUp });
      }
      return { calls };
    }
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
