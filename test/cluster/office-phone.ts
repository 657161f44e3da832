// A desk phone on the office LAN (run inside its network namespace by the cluster suite): registers
// its idle account through the edge's Service and prints the answer as one JSON line.
//   node test/cluster/office-phone.ts <own LAN address> <edge host> <edge port> <identity> <domain>
import { ScriptedPhone } from '../../src/demo/scripted-phone.ts';

const [lanAddress = '', host = '', port = '', identity = '', domain = ''] = process.argv.slice(2);
const phone = await ScriptedPhone.start({ identity, domain, edge: { host, port: Number(port) }, host: lanAddress });
try {
  const reg = await phone.register(600);
  process.stdout.write(`${JSON.stringify({ status: reg.status, reason: reg.reason })}\n`);
} finally {
  await phone.stop();
}
