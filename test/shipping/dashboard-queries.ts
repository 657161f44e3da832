/**
 * The dashboard's queries as Grafana would send them: every panel target, with the template
 * variables replaced the way Grafana formats them for a Prometheus data source.
 */

export interface DashboardTarget {
  panel: string;
  refId: string;
  expr: string;
}

export interface LabelValuesVariable {
  name: string;
  /** The label whose values the variable offers. */
  label: string;
  /** The series selector it reads them from; may refer to earlier variables. */
  selector: string;
}

interface RawDashboard {
  panels: { type: string; title: string; targets?: { refId: string; expr: string }[] }[];
  templating: { list: { name: string; type: string; definition?: string; query?: unknown }[] };
}

export function panelTargets(dashboard: RawDashboard): DashboardTarget[] {
  return dashboard.panels
    .filter((p) => p.type !== 'row')
    .flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));
}

/** The query variables, in dashboard order (later ones may depend on earlier ones). */
export function labelValuesVariables(dashboard: RawDashboard): LabelValuesVariable[] {
  return dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => {
      const definition = v.definition ?? (v.query as { query?: string } | undefined)?.query ?? '';
      const m = /^label_values\((.+),\s*([a-zA-Z_]\w*)\s*\)$/.exec(definition.trim());
      if (!m) throw new Error(`variable ${v.name}: not a label_values() query: ${definition}`);
      return { name: v.name, selector: m[1]!.trim(), label: m[2]! };
    });
}

/** How Grafana writes a multi-value variable into a Prometheus regex matcher: escaped, `(a|b)`. */
export function regexOfValues(values: readonly string[]): string {
  const escaped = values.map((v) => v.replace(/[\\^$.|?*+()[\]{}]/g, '\\\\$&'));
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
}

/**
 * Replaces `$name`, `${name}` and `[[name]]` references; names missing from `values` are left as
 * they are so a leftover shows up in Prometheus' parse error.
 */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    return Object.hasOwn(values, name) ? values[name]! : whole;
  });
}
