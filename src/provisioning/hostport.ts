/** Splits "host", "host:port", "[v6]:port" into parts; the port defaults to the given one. */
export function splitHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (v6) return { host: v6[1] ?? '', port: v6[2] ? Number(v6[2]) : defaultPort };
  const plain = /^([^:]+):(\d+)$/.exec(value);
  if (plain) return { host: plain[1] ?? '', port: Number(plain[2]) };
  return { host: value, port: defaultPort };
}
