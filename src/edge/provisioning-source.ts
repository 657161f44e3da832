import type { PoolView } from './pool-view.ts';
import type { DeviceSecrets, ProvisioningFile, ProvisioningSource, ResolvedFile } from './provisioning-server.ts';
import type { SecretReader } from './secret-reader.ts';

/**
 * The pool's provisioning files as the provisioning server needs them: the rendered file from the
 * informer cache, and the device's provisioning password and its occupant's SIP password read from
 * their Secrets at serve time, only for the file's own device.
 */
export function poolProvisioningSource(view: PoolView, secrets: SecretReader): ProvisioningSource {
  const secretsFor = (file: ProvisioningFile): DeviceSecrets | Promise<DeviceSecrets> => {
    const auth = view.device(file.device)?.spec.provisioningAuth?.secretRef;
    const sipPassword = file.passwordRef ? secrets.value(file.passwordRef.secret, file.passwordRef.key) : undefined;
    // Without a provisioning password no request can authenticate: the file is not served.
    const provisioningPassword = auth ? secrets.value(auth.name, auth.passwordKey) : undefined;
    const assemble = (sip: string | undefined, prov: string | undefined): DeviceSecrets => ({ provisioningPassword: prov, placeholders: sip !== undefined ? { password: sip } : {} });
    return sipPassword instanceof Promise || provisioningPassword instanceof Promise
      ? Promise.all([sipPassword, provisioningPassword]).then(([sip, prov]) => assemble(sip, prov))
      : assemble(sipPassword, provisioningPassword);
  };
  return {
    resolve: (fileName, username) => {
      const rendered = view.provisioningFile(fileName);
      const device = rendered ? view.device(rendered.device) : undefined;
      if (!rendered || !device) return undefined;
      const file: ProvisioningFile = { device: rendered.device, username: device.spec.mac, content: rendered.content, contentType: rendered.contentType, passwordRef: rendered.credentials };
      if (username !== file.username) return { file, secrets: undefined };
      const found = secretsFor(file);
      return found instanceof Promise ? found.then((s): ResolvedFile => ({ file, secrets: s })) : { file, secrets: found };
    },
  };
}
