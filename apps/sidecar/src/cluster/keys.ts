// Redis key names of cluster mode. Every key of one symbol carries the symbol as its hash tag, and
// every key of one provider budget the provider and API-key digest, so each Lua script touches one
// hash slot (Redis Cluster) and all keys share the configured prefix.
import { createHash } from 'node:crypto';

export interface ClusterKeys {
  members: string;
  lease(symbol: string): string;
  fence(symbol: string): string;
  budget(provider: string, apiKey: string | undefined): { log: string; day: string; block: string };
}

/** A short digest of an API key: budgets are per key, and the key itself never reaches Redis. */
export function keyDigest(apiKey: string | undefined): string {
  if (!apiKey) return 'nokey';
  return createHash('sha256').update(apiKey).digest('hex').slice(0, 16);
}

export function clusterKeys(prefix: string, cluster: string): ClusterKeys {
  const base = `${prefix}cluster:${cluster}:`;
  return {
    members: `${base}{members}`,
    lease: (symbol) => `${base}lease:{${symbol}}`,
    fence: (symbol) => `${base}fence:{${symbol}}`,
    budget(provider, apiKey) {
      // Budgets are per provider key, not per cluster: two clusters on one key share the quota too.
      const tag = `{budget:${provider}:${keyDigest(apiKey)}}`;
      return { log: `${prefix}${tag}:log`, day: `${prefix}${tag}:day`, block: `${prefix}${tag}:block` };
    },
  };
}
