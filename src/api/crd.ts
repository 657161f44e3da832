import type { V1ObjectMeta } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, CATEGORY, GROUP_VERSION, KINDS, type KindKey } from './group.ts';
import { MAX_LABELLED_NAME_LENGTH, NAME_LIMITS } from './labels.ts';
import type { AnySchema, OpenApiSchema, Rule } from './schema.ts';

/** A hot-desk object as read from the API server. */
export interface Resource<K extends string, Spec, Status> {
  apiVersion: typeof GROUP_VERSION;
  kind: K;
  metadata: V1ObjectMeta;
  spec: Spec;
  status?: Status;
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  /** 0 shows in `kubectl get`; higher only with `-o wide`. */
  priority?: number;
}

export interface KindDefinition {
  key: KindKey;
  /** What `kubectl explain <kind>` prints first. */
  description: string;
  spec: AnySchema;
  status: AnySchema;
  printerColumns: PrinterColumn[];
}

/** The CustomResourceDefinition object, as plain data ready for YAML. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Namespaced';
    versions: {
      name: string;
      served: true;
      storage: true;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: OpenApiSchema };
    }[];
  };
}

export const AGE_COLUMN: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
};

export function readyColumn(what: string): PrinterColumn {
  return { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: `Whether the ${what} is ready.` };
}

/**
 * The rule that refuses a name the controller could not carry into labels (see NAME_LIMITS). A
 * root rule is the only place CEL sees metadata.name; the message names the field itself, since
 * the API server reports root rules against the object as a whole.
 */
export function nameRule(key: KindKey): Rule | undefined {
  if (!(key in NAME_LIMITS)) return undefined;
  const why = NAME_LIMITS[key as keyof typeof NAME_LIMITS];
  return {
    rule: `self.metadata.name.size() <= ${MAX_LABELLED_NAME_LENGTH}`,
    message: `metadata.name of a ${KINDS[key].kind} may have at most ${MAX_LABELLED_NAME_LENGTH} characters: ${why}; choose a shorter name`,
  };
}

export function customResourceDefinition(def: KindDefinition): CustomResourceDefinition {
  const names = KINDS[def.key];
  const limit = nameRule(def.key);
  const root: OpenApiSchema = {
    type: 'object',
    description: def.description,
    properties: {
      apiVersion: { type: 'string', description: 'Versioned schema of this object; always hotdesk.io/v1alpha1 here.' },
      kind: { type: 'string', description: `The object's kind: ${names.kind}.` },
      // The API server documents metadata itself and refuses any description here.
      metadata: { type: 'object' },
      spec: def.spec.openapi,
      status: def.status.openapi,
    },
    required: ['spec'],
    ...(limit ? { 'x-kubernetes-validations': [limit] } : {}),
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${names.plural}.${API_GROUP}`,
      labels: { 'app.kubernetes.io/name': 'hotdesk-operator', 'app.kubernetes.io/part-of': 'hotdesk-operator' },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind: names.kind,
        listKind: `${names.kind}List`,
        plural: names.plural,
        singular: names.singular,
        shortNames: [...names.shortNames],
        categories: [CATEGORY],
      },
      scope: 'Namespaced',
      versions: [{
        name: API_VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [...def.printerColumns, AGE_COLUMN],
        schema: { openAPIV3Schema: root },
      }],
    },
  };
}
