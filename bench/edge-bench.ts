import { intOption, stringOption } from './lib/options.ts';
import { loginLatency, PBX_HOST } from './edge-login.ts';
import { provisioningStorm, stormOptions } from './edge-provisioning.ts';
import { withEdgeFleet } from './edge-setup.ts';
import { FakePbx } from './sip-phone.ts';

/** (b) and (c) on one fleet, since rendering 10,000 devices dominates the run time. */
export async function runEdgeBenchmarks(): Promise<void> {
  const devices = intOption('devices', 10_000);
  const users = intOption('users', 20);
  const pbx = await FakePbx.start(PBX_HOST);
  try {
    const report = await withEdgeFleet({ devices, users, pbx: { host: PBX_HOST, port: pbx.port }, edgeCpuProfileDir: stringOption('cpu-prof-dir', undefined), controllerCpuProfileDir: stringOption('controller-cpu-prof-dir', undefined) }, async (fleet) => [
      await loginLatency(fleet, pbx, { logins: intOption('logins', 100), warmup: intOption('warmup-logins', 4), phones: intOption('phones', 2) }),
      await provisioningStorm(fleet, stormOptions()),
    ].join('\n'));
    process.stdout.write(report);
  } finally {
    pbx.close();
  }
}

if (import.meta.main) await runEdgeBenchmarks();
