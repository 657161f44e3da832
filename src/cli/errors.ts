import { ApiException } from '@kubernetes/client-node';

interface Status {
  kind?: string;
  reason?: string;
  message?: string;
}

function parseStatus(body: unknown): Status | undefined {
  if (typeof body === 'string') {
    try {
      return parseStatus(JSON.parse(body));
    } catch {
      return undefined;
    }
  }
  return body && typeof body === 'object' ? (body as Status) : undefined;
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * What kubectl prints for an error, without a stack trace: the server's Status for API errors
 * ("Error from server (NotFound): ..."), its connection messages for network errors, and
 * "error: ..." for everything else.
 */
export function describeError(err: unknown, server: string | undefined): string {
  if (err instanceof ApiException) {
    if (err.code === 401) return 'error: You must be logged in to the server (Unauthorized)';
    const status = parseStatus(err.body);
    const message = status?.message || `the server responded with HTTP ${err.code}`;
    return status?.reason ? `Error from server (${status.reason}): ${message}` : `Error from server: ${message}`;
  }
  const host = server ? server.replace(/^\w+:\/\//, '').replace(/\/.*$/, '') : 'the server';
  const code = errorCode(err);
  if (code === 'ECONNREFUSED') return `The connection to the server ${host} was refused - did you specify the right host or port?`;
  if (code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || (code?.startsWith('UND_ERR') ?? false)) {
    return `Unable to connect to the server: ${code}`;
  }
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}
