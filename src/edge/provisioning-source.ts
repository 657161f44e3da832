import type { DeviceSecrets, ProvisioningFile, ProvisioningSource, ResolvedFile } from './provisioning-server.ts';
import type { SecretReader } from './secret-reader.ts';

/**
 * Provisioning files as the provisioning server needs them: the file found by name, and the
 * device's provisioning password and its occupant's SIP password read from their Secrets at serve
 * time, only for the file's own device.
 */
export function provisioningSource(lookup: (fileName: string) => ProvisioningFile | undefined, secrets: SecretReader): ProvisioningSource {
  const secretsFor = (file: ProvisioningFile): DeviceSecrets | Promise<DeviceSecrets> => {
    const sipPassword = file.passwordRef ? secrets.value(file.passwordRef.secret, file.passwordRef.key) : undefined;
    const provisioningPassword = file.authRef ? secrets.value(file.authRef.secret, file.authRef.key) : undefined;
    const assemble = (sip: string | undefined, prov: string | undefined): DeviceSecrets => ({ provisioningPassword: prov, placeholders: sip !== undefined ? { password: sip } : {} });
    return sipPassword instanceof Promise || provisioningPassword instanceof Promise
      ? Promise.all([sipPassword, provisioningPassword]).then(([sip, prov]) => assemble(sip, prov))
      : assemble(sipPassword, provisioningPassword);
  };
  return {
    resolve: (fileName, username) => {
      const file = lookup(fileName);
      if (!file) return undefined;
      if (username !== file.username) return { file, secrets: undefined };
      const found = secretsFor(file);
      return found instanceof Promise ? found.then((s): ResolvedFile => ({ file, secrets: s })) : { file, secrets: found };
    },
  };
}
