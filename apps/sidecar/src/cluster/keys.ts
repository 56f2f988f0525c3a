// Redis key names of cluster mode. The coordination keys of one cluster share the cluster's hash tag
// and every key of one provider budget the provider and API-key digest, so each Lua script touches
// one hash slot (Redis Cluster) and all keys share the configured prefix. (The hot cache's keys carry
// the symbol as their tag; coordination is one small call per instance per cycle, so keeping it on
// one shard costs nothing and lets one atomic call renew every lease of an instance.)
import { createHash } from 'node:crypto';

export interface ClusterKeys {
  /** zset: instance id -> heartbeat expiry (epoch ms). */
  members: string;
  /** hash: symbol -> "owner|token". */
  owners: string;
  /** hash: symbol -> the last fencing token issued. */
  fences: string;
  budget(provider: string, apiKey: string | undefined): { log: string; day: string; block: string };
}

/** A short digest of an API key: budgets are per key, and the key itself never reaches Redis. */
export function keyDigest(apiKey: string | undefined): string {
  if (!apiKey) return 'nokey';
  return createHash('sha256').update(apiKey).digest('hex').slice(0, 16);
}

export function clusterKeys(prefix: string, cluster: string): ClusterKeys {
  const base = `${prefix}{cluster:${cluster}}:`;
  return {
    members: `${base}members`,
    owners: `${base}owners`,
    fences: `${base}fences`,
    budget(provider, apiKey) {
      // Budgets are per provider key, not per cluster: two clusters on one key share the quota too.
      const tag = `{budget:${provider}:${keyDigest(apiKey)}}`;
      return { log: `${prefix}${tag}:log`, day: `${prefix}${tag}:day`, block: `${prefix}${tag}:block` };
    },
  };
}
