/**
 * Custom templates: an admin's own file for a vendor or model we do not render (3CX refuses custom
 * templates on hot-desk phones; we don't). Rendered with mustache, which is logic-less: a template can
 * only read the view below, never run code or reach anything else.
 *
 * Escaping: mustache's default `{{x}}` escaping is HTML escaping, which also rewrites "/", "=" and "`".
 * These files are phone configuration, not HTML: `sip:101@pbx;transport=tls` would reach the phone
 * as `sip:101@pbx;transport&#x3D;tls`. So escaping follows the file's content type instead: an XML
 * content type escapes the five XML specials (so a display name like `R&D` cannot break the document),
 * any other content type is written verbatim. `{{{x}}}` is always verbatim.
 *
 * The view (built field by field, never by spreading the input, so nothing the reconciler happens to
 * put on an object leaks into a file):
 *   device      { mac, vendor, model, location, options.<name> }
 *   identity    { kind, idle, occupied, username, authUser, displayName, label, extension }
 *   server      { sipHost, sipPort, transport, sipDomain, outboundProxy, provisioningUrl }
 *   keys        [{ index (1-based), type, value, label, isBlf, isSpeeddial, isLine, isLogout, isDtmf, isEmpty }]
 *   emergencyNumbers  ["112", ...]   (iterate with {{#emergencyNumbers}}{{.}}{{/emergencyNumbers}})
 *   featureCodes { logout, login }
 *   password    the SIP password PLACEHOLDER (never the password; the edge fills it in at serve time)
 */
import Mustache from 'mustache';
import { CONTENT_TYPE_TEXT, type ProvisioningInput, type RenderedConfig } from './model.ts';
import { PASSWORD_PLACEHOLDER, placeholdersIn } from './placeholders.ts';
import { escapeXml, isXmlContentType } from './xml.ts';

export class ProvisioningTemplateError extends Error {
  override name = 'ProvisioningTemplateError';
}

export const DEFAULT_CUSTOM_FILE_NAME = '{mac}.cfg';

export function customFileNames(mac: string, fileNamePattern: string = DEFAULT_CUSTOM_FILE_NAME): string[] {
  return [fileNamePattern.replaceAll('{mac}', mac)];
}

export function customTemplateView(input: ProvisioningInput): Record<string, unknown> {
  const { device, server, identity, featureCodes } = input;
  return {
    device: {
      mac: device.mac,
      vendor: device.vendor,
      model: device.model,
      location: device.location,
      options: Object.fromEntries(Object.entries(device.options).map(([k, v]) => [k, String(v)])),
    },
    identity: {
      kind: identity.kind,
      idle: identity.kind === 'idle',
      occupied: identity.kind === 'occupied',
      username: identity.username,
      authUser: identity.authUser,
      displayName: identity.displayName,
      label: identity.label,
      extension: identity.extension ?? '',
    },
    server: {
      sipHost: server.sipHost,
      sipPort: server.sipPort,
      transport: server.transport,
      sipDomain: server.sipDomain,
      outboundProxy: server.outboundProxy ?? '',
      provisioningUrl: server.provisioningUrl,
    },
    keys: input.keys.map((key, i) => ({
      index: i + 1,
      type: key.type,
      value: key.value,
      label: key.label,
      isBlf: key.type === 'blf',
      isSpeeddial: key.type === 'speeddial',
      isLine: key.type === 'line',
      isLogout: key.type === 'logout',
      isDtmf: key.type === 'dtmf',
      isEmpty: key.type === 'empty',
    })),
    emergencyNumbers: [...input.emergencyNumbers],
    featureCodes: { logout: featureCodes.logout, login: featureCodes.login ?? '' },
    password: PASSWORD_PLACEHOLDER,
  };
}

export function renderCustom(input: ProvisioningInput): RenderedConfig {
  const custom = input.customTemplate;
  if (!custom || custom.template.trim() === '') {
    throw new ProvisioningTemplateError(`device ${input.device.mac} uses vendor "custom" but has no template`);
  }
  const contentType = custom.contentType ?? CONTENT_TYPE_TEXT;
  const escape = isXmlContentType(contentType) ? escapeXml : (value: unknown) => String(value);
  const [name] = customFileNames(input.device.mac, custom.fileName);

  let content: string;
  try {
    // No partials are passed: `{{> name}}` renders nothing rather than reading another template.
    content = Mustache.render(custom.template, customTemplateView(input), {}, { escape });
  } catch (error) {
    throw new ProvisioningTemplateError(`custom template of device ${input.device.mac} does not render: ${(error as Error).message}`);
  }
  try {
    placeholdersIn(content);
  } catch (error) {
    throw new ProvisioningTemplateError(`custom template of device ${input.device.mac} produces ${(error as Error).message}`);
  }
  if (!name || name.includes('/') || name.trim() === '') {
    throw new ProvisioningTemplateError(`custom template file name ${JSON.stringify(custom.fileName)} is not a plain file name`);
  }
  return { vendor: 'custom', files: [{ name, contentType, content }] };
}
