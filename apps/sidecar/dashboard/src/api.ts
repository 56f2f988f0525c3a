// Talking to the sidecar: JSON over fetch with `Authorization: Bearer`, the push stream over
// EventSource with `token=` (EventSource cannot set headers). The token lives in sessionStorage, so it
// is forgotten when the tab closes and never reaches the page's URL or the server's logs.
const TOKEN_KEY = 'pipeline.dashboard.token';

/** Thrown when the sidecar answers 401: the page shows the token form. */
export class UnauthorizedError extends Error {
  readonly code = 'UNAUTHORIZED';
}

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** GETs JSON; `also` lists non-2xx statuses whose body is still the answer (/health is 503 when down). */
export async function getJson<T>(path: string, also: readonly number[] = []): Promise<T> {
  const token = getToken();
  const res = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (res.status === 401) throw new UnauthorizedError(`${path}: 401`);
  if (!res.ok && !also.includes(res.status)) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export interface StreamMessage {
  id: number;
  kind: 'bars' | 'features' | 'signals' | 'health' | 'reset' | 'error';
  symbol?: string;
  data: unknown;
}

/**
 * Opens `/stream` for the given kinds and symbols (every symbol when `symbols` is empty). EventSource reconnects on its own and sends
 * `Last-Event-ID`, so the sidecar replays what was missed; a `reset` event means the gap was too old
 * and the page refetches.
 */
export function openStream(
  kinds: readonly string[],
  symbols: readonly string[],
  onMessage: (m: StreamMessage) => void,
  onState: (state: 'open' | 'retrying' | 'closed') => void,
): () => void {
  const q = new URLSearchParams({ kinds: kinds.join(',') });
  if (symbols.length) q.set('symbols', symbols.join(','));
  const token = getToken();
  if (token) q.set('token', token);
  const es = new EventSource(`/stream?${q.toString()}`);
  const handle = (ev: Event) => {
    // `error` is both the server's last frame (`event: error`, with data and no id) and
    // EventSource's own connection error (no data): only the former is a message.
    const data = (ev as MessageEvent<unknown>).data;
    if (typeof data !== 'string') return;
    const m = JSON.parse(data) as Partial<StreamMessage>;
    if (ev.type === 'error') onMessage({ id: 0, kind: 'error', data: m });
    else onMessage(m as StreamMessage);
  };
  for (const k of [...kinds, 'reset', 'error']) es.addEventListener(k, handle);
  es.onopen = () => onState('open');
  es.onerror = () => onState(es.readyState === EventSource.CLOSED ? 'closed' : 'retrying');
  return () => es.close();
}
