// The cluster's events channel: a member that leaves or joins says so on a Redis pub/sub channel,
// and every other member runs one extra coordination round at once instead of at its next cycle,
// so a graceful handover takes milliseconds. A lost message costs nothing but time: the next cycle's
// round sees the change anyway. Plain pub/sub is broadcast to every node of a Redis Cluster; sharded
// pub/sub is not used.
import { type Cluster, type Redis } from 'ioredis';

export type ClusterEventKind = 'join' | 'leave';

export interface ClusterEventsOptions {
  redis: Redis | Cluster;
  channel: string;
  /** This member: its own messages are ignored. */
  me: string;
  /** Another member joined or left. */
  onChange: () => void;
  onError?: (err: unknown) => void;
}

export interface ClusterEvents {
  /** Opens the subscriber connection (a duplicate of `redis`) once. */
  subscribe(): void;
  readonly subscribed: boolean;
  publish(kind: ClusterEventKind): Promise<void>;
  /** Closes the subscriber connection. */
  unsubscribe(): Promise<void>;
}

export function createClusterEvents(options: ClusterEventsOptions): ClusterEvents {
  const { channel, me } = options;
  let subscriber: (Redis | Cluster) | undefined;
  return {
    subscribe() {
      if (subscriber) return;
      const sub = (options.redis as Redis).duplicate();
      subscriber = sub;
      sub.on('error', (err: unknown) => options.onError?.(err));
      sub.on('message', (from: string, message: string) => {
        if (from !== channel) return;
        const [, sender] = message.split('|');
        if (sender !== me) options.onChange();
      });
      sub.subscribe(channel).catch((err: unknown) => options.onError?.(err));
    },
    get subscribed() {
      return subscriber !== undefined;
    },
    async publish(kind) {
      try {
        await (options.redis as Redis).publish(channel, `${kind}|${me}`);
      } catch (err) {
        options.onError?.(err); // the others see the change at their next cycle instead
      }
    },
    async unsubscribe() {
      const sub = subscriber;
      subscriber = undefined;
      if (sub) await sub.quit().catch(() => sub.disconnect());
    },
  };
}
