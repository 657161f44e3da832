/** XML text and attribute escaping shared by the XML renderers and the serve-time placeholder filler. */

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/**
 * Escapes for both element text and double- or single-quoted attributes. Characters XML 1.0 cannot
 * carry at all (most C0 controls) are dropped rather than emitted, since a phone's parser rejects the
 * whole file over one of them.
 */
export function escapeXml(value: string): string {
  return value
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/[&<>"']/g, (ch) => XML_ESCAPES[ch] ?? ch);
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

export function isXmlContentType(contentType: string): boolean {
  return /(^|[/+])xml\b/i.test(contentType.split(';')[0]?.trim() ?? '');
}
