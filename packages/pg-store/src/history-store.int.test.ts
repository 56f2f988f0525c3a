import { runHistoryStoreContract } from '@pipeline/test-utils';
import { createTestDatabase } from '../test/pg';
import { createPgStore } from './pg-store';

// One database per test: the contract suite asks for fresh storage every time.
runHistoryStoreContract('pg-store', async () => {
  const db = await createTestDatabase('pgstore_contract');
  const open = () => createPgStore({ url: db.url, flushIntervalMs: 3_600_000, poolSize: 2 });
  let current = open();
  await current.ready();
  return {
    store: current,
    async reopen() {
      current = open();
      await current.ready();
      return current;
    },
    async cleanup() {
      await current.close().catch(() => undefined);
      await db.drop();
    },
  };
});
