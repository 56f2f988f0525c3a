// Node 20 without the optional `ws` peer: the package loads, SSE needs nothing, and the WebSocket
// mode says what to install. (`ws` is installed in this workspace, so its absence is simulated.)
jest.mock('ws', () => {
  throw Object.assign(new Error("Cannot find module 'ws'"), { code: 'MODULE_NOT_FOUND' });
});

import { createClient, isClientError } from './index';

it("without a global WebSocket or `ws`, transport 'websocket' throws BAD_OPTION naming ws", async () => {
  expect((globalThis as { WebSocket?: unknown }).WebSocket).toBeUndefined(); // Node 20
  const err = await createClient({ baseUrl: 'http://127.0.0.1:1' })
    .stream({ transport: 'websocket' })
    .next()
    .catch((e: unknown) => e);
  expect(isClientError(err, 'BAD_OPTION')).toBe(true);
  expect((err as Error).message).toMatch(/install the `ws` package \(npm install ws\)/);
});
