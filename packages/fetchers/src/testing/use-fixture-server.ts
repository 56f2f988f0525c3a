import { startFixtureServer, type FixtureHandler, type FixtureServer } from '@pipeline/test-utils';

interface Closable {
  close(): Promise<void>;
}

/**
 * One real fixture server for the enclosing `describe` (or file): started before its first test and
 * closed after its last. `srv` forwards to it, so a test file can hold it in a `const`. Fetchers
 * passed through `track` are closed after each test, so none keeps a socket or timer open.
 */
export function useFixtureServer(handler: FixtureHandler): {
  srv: FixtureServer;
  track: <F extends Closable>(fetcher: F) => F;
} {
  let real: FixtureServer | undefined;
  const open: Closable[] = [];
  const get = (): FixtureServer => {
    if (real === undefined) throw new Error('the fixture server runs only inside the tests of its describe');
    return real;
  };
  beforeAll(async () => {
    real = await startFixtureServer(handler);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((f) => f.close()));
  });
  afterAll(async () => {
    await real?.close();
    real = undefined;
  });
  const srv: FixtureServer = {
    get url() {
      return get().url;
    },
    get port() {
      return get().port;
    },
    get requests() {
      return get().requests;
    },
    get connections() {
      return get().connections;
    },
    setHandler: (h) => get().setHandler(h),
    close: () => get().close(),
  };
  return {
    srv,
    track: (fetcher) => {
      open.push(fetcher);
      return fetcher;
    },
  };
}
