import { stringify } from 'yaml';

/** -o json / -o yaml rendering; JSON indented by four spaces like kubectl's. */
export function renderStructured(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 4)}\n` : stringify(value);
}

/** The wrapper kubectl prints objects of a listing in. */
export function asList(items: unknown[]): { apiVersion: 'v1'; kind: 'List'; items: unknown[]; metadata: { resourceVersion: '' } } {
  return { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
}
