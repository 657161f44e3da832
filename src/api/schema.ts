/**
 * A small schema DSL: each builder returns the structural OpenAPI v3 schema a CRD needs and carries
 * the TypeScript type of the value it describes, so the CRDs and the code that reads the objects
 * come from one source. Every builder demands a description, since that is what `kubectl explain`
 * shows the admin.
 *
 * Two types come out of a schema: `Infer` is the object as the API server returns it (fields with a
 * `default` are always set), `InferInput` is what a user may write (those fields may be left out).
 */

/** One CEL rule (x-kubernetes-validations). `message` should name the field and say how to fix it. */
export interface Rule {
  rule: string;
  message: string;
  messageExpression?: string;
  /** Points the error at a child field, e.g. ".minLength". */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** The subset of OpenAPI v3 (JSONSchemaProps) that structural CRD schemas use. */
export interface OpenApiSchema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';
  description?: string;
  format?: string;
  pattern?: string;
  enum?: readonly (string | number)[];
  default?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  additionalProperties?: OpenApiSchema;
  items?: OpenApiSchema;
  anyOf?: OpenApiSchema[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: Rule[];
}

/**
 * A schema node. `Out`/`In` exist only in the type system (the `types` field is never set at run
 * time); `Defaulted` tells the enclosing object whether the server fills this field in.
 */
export interface Schema<Out, In = Out, Defaulted extends boolean = boolean> {
  readonly openapi: OpenApiSchema;
  readonly defaulted: Defaulted;
  readonly types?: { out: Out; in: In };
}

/** Any schema at all, for generic constraints. */
export type AnySchema = Schema<any, any, boolean>;

export type Infer<S extends AnySchema> = NonNullable<S['types']>['out'];
export type InferInput<S extends AnySchema> = NonNullable<S['types']>['in'];

interface Common {
  /** Shown by `kubectl explain`; required for every field. */
  description: string;
  rules?: Rule[];
}

type IsDefaulted<O> = O extends { default: unknown } ? true : false;

function node<Out, In, D extends boolean>(openapi: OpenApiSchema, opts: Common & { default?: unknown }): Schema<Out, In, D> {
  if (!opts.description || opts.description.trim() === '') throw new Error('schema: every field needs a description');
  const out: OpenApiSchema = { ...openapi, description: opts.description };
  if (opts.default !== undefined) out.default = opts.default;
  if (opts.rules && opts.rules.length > 0) out['x-kubernetes-validations'] = opts.rules.map(cleanRule);
  return { openapi: out, defaulted: (opts.default !== undefined) as D };
}

/** Drops unset keys so the generated YAML holds only what was said. */
function cleanRule(r: Rule): Rule {
  const out: Rule = { rule: r.rule, message: r.message };
  if (r.messageExpression !== undefined) out.messageExpression = r.messageExpression;
  if (r.fieldPath !== undefined) out.fieldPath = r.fieldPath;
  if (r.reason !== undefined) out.reason = r.reason;
  return out;
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A CEL string literal for any text (regexes included: their backslashes must be doubled). */
export function celString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

// ---- scalars ----

export interface StrOptions<E extends readonly string[] = readonly string[]> extends Common {
  enum?: E;
  pattern?: string;
  format?: 'date-time' | 'date' | 'duration' | 'byte' | 'hostname';
  minLength?: number;
  /** Bound every string CEL looks at, or the API server refuses rules it cannot cost. */
  maxLength?: number;
  default?: E[number];
}

type StrType<O> = O extends { enum: readonly (infer E extends string)[] } ? E : string;

export function str<const O extends StrOptions>(opts: O): Schema<StrType<O>, StrType<O>, IsDefaulted<O>> {
  if (opts.enum && opts.default !== undefined && !opts.enum.includes(opts.default)) {
    throw new Error(`schema: default "${opts.default}" is not one of ${opts.enum.join(', ')}`);
  }
  return node({
    type: 'string',
    ...defined({ format: opts.format, pattern: opts.pattern, enum: opts.enum, minLength: opts.minLength, maxLength: opts.maxLength }),
  }, opts);
}

export interface NumOptions extends Common {
  minimum?: number;
  maximum?: number;
  format?: 'int32' | 'int64';
  default?: number;
}

export function int<const O extends NumOptions>(opts: O): Schema<number, number, IsDefaulted<O>> {
  return node({
    type: 'integer',
    ...defined({ format: opts.format, minimum: opts.minimum, maximum: opts.maximum }),
  }, opts);
}

export interface BoolOptions extends Common {
  default?: boolean;
}

export function bool<const O extends BoolOptions>(opts: O): Schema<boolean, boolean, IsDefaulted<O>> {
  return node({ type: 'boolean' }, opts);
}

export interface IntOrStringOptions extends Common {
  pattern?: string;
  default?: number | string;
}

/** A Kubernetes quantity ("500m", "128Mi", 2) and other int-or-string values. */
export function intOrString<const O extends IntOrStringOptions>(opts: O): Schema<number | string, number | string, IsDefaulted<O>> {
  return node({
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
    ...defined({ pattern: opts.pattern }),
  }, opts);
}

// ---- composites ----

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type OutOf<S> = S extends Schema<infer O, unknown, boolean> ? O : never;
type InOf<S> = S extends Schema<unknown, infer I, boolean> ? I : never;

type Props = Record<string, AnySchema>;
type PresentWhenRead<P extends Props, R extends string> = {
  [K in keyof P]: K extends R ? K : P[K] extends Schema<unknown, unknown, true> ? K : never;
}[keyof P];
type RequiredOnWrite<P extends Props, R extends string> = { [K in keyof P]: K extends R ? K : never }[keyof P];

export type ObjectOut<P extends Props, R extends string> = Simplify<
  { [K in PresentWhenRead<P, R>]: OutOf<P[K]> } & { [K in Exclude<keyof P, PresentWhenRead<P, R>>]?: OutOf<P[K]> }
>;
export type ObjectIn<P extends Props, R extends string> = Simplify<
  { [K in RequiredOnWrite<P, R>]: InOf<P[K]> } & { [K in Exclude<keyof P, RequiredOnWrite<P, R>>]?: InOf<P[K]> }
>;

export interface ObjOptions<R extends string> extends Common {
  required?: readonly R[];
  /** `{}` makes the server create the object so the defaults of its fields apply. */
  default?: Record<string, unknown>;
}

export function obj<const P extends Props, const O extends ObjOptions<Extract<keyof P, string>>>(
  props: P,
  opts: O,
): Schema<ObjectOut<P, RequiredKeys<O>>, ObjectIn<P, RequiredKeys<O>>, IsDefaulted<O>> {
  const properties: Record<string, OpenApiSchema> = {};
  for (const [name, s] of Object.entries(props)) properties[name] = s.openapi;
  const required = opts.required ?? [];
  for (const r of required) if (!(r in props)) throw new Error(`schema: required field "${r}" is not a property`);
  // The API server checks a default against the rules without defaulting inside it first, so the
  // fields' own defaults are written into the object's default.
  const withDefaults = opts.default === undefined ? opts : { ...opts, default: { ...childDefaults(properties), ...opts.default } };
  return node({ type: 'object', properties, ...(required.length > 0 ? { required: [...required] } : {}) }, withDefaults);
}

function childDefaults(properties: Record<string, OpenApiSchema>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(properties)) if (p.default !== undefined) out[name] = p.default;
  return out;
}

type RequiredKeys<O> = O extends { required: readonly (infer R extends string)[] } ? R : never;

export interface ArrOptions extends Common {
  minItems?: number;
  maxItems?: number;
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: string[];
  default?: unknown[];
}

export function arr<S extends AnySchema, const O extends ArrOptions>(items: S, opts: O): Schema<OutOf<S>[], InOf<S>[], IsDefaulted<O>> {
  return node({
    type: 'array',
    items: items.openapi,
    ...defined({
      minItems: opts.minItems,
      maxItems: opts.maxItems,
      'x-kubernetes-list-type': opts.listType,
      'x-kubernetes-list-map-keys': opts.listMapKeys,
    }),
  }, opts);
}

export interface MapOptions extends Common {
  maxProperties?: number;
  default?: Record<string, unknown>;
}

/** A map from free-form keys to values of one schema (additionalProperties). */
export function map<S extends AnySchema, const O extends MapOptions>(
  values: S,
  opts: O,
): Schema<Record<string, OutOf<S>>, Record<string, InOf<S>>, IsDefaulted<O>> {
  return node({ type: 'object', additionalProperties: values.openapi, ...defined({ maxProperties: opts.maxProperties }) }, opts);
}

// ---- walking ----

/** Calls `visit` for every schema node with its dotted path (e.g. "spec.pbx.host", "spec.keys[]"). */
export function walkSchema(root: OpenApiSchema, visit: (path: string, s: OpenApiSchema) => void, path = ''): void {
  visit(path, root);
  for (const [name, child] of Object.entries(root.properties ?? {})) walkSchema(child, visit, path ? `${path}.${name}` : name);
  if (root.items) walkSchema(root.items, visit, `${path}[]`);
  if (root.additionalProperties) walkSchema(root.additionalProperties, visit, `${path}{}`);
}
