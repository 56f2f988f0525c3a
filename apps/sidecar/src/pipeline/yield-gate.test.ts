import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createYieldGate, type YieldGate } from './yield-gate';

/** Busy for `ms` of wall time: one answer's processing. */
function work(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

/** Processes `answers` answers of `ms` each through the gate, as the cycle's batch loop does. */
async function batch(gate: YieldGate, answers: number, ms: number, done: number[] = []): Promise<void> {
  for (let i = 0; i < answers; i++) {
    for (let p = gate.pass(); p; p = gate.pass()) await p;
    work(ms);
    done.push(i);
    gate.worked();
  }
  for (let p = gate.settle(); p; p = gate.pass()) await p;
}

describe('yield gate', () => {
  it('hands the event loop over between answers once its slice is used up', async () => {
    const gate = createYieldGate(0.25);
    const done: number[] = [];
    const seen: number[] = [];
    // A callback queued when the batch starts stands for a request waiting for the loop.
    setImmediate(() => seen.push(done.length));
    await batch(gate, 200, 0.05, done);
    expect(done).toHaveLength(200);
    expect(seen).toHaveLength(1);
    // It ran during the batch, not after its 10 ms of work.
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[0]).toBeLessThan(200);
  });

  it('reads a request that came in on a socket while answers were processed, before the batch ends', async () => {
    const server = createServer();
    const readAt: number[] = [];
    const done: number[] = [];
    server.on('connection', (s: Socket) => s.on('data', () => readAt.push(done.length)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const client = connect(address.port, '127.0.0.1');
    await once(client, 'connect');
    try {
      const gate = createYieldGate(0.25);
      let sent = false;
      for (let i = 0; i < 400; i++) {
        for (let p = gate.pass(); p; p = gate.pass()) await p;
        work(0.05);
        done.push(i);
        // The request leaves the client at once (the kernel has it); the server can only read it
        // in the poll phase of a turn of the loop.
        if (!sent) {
          client.write('GET /signals/EURUSD HTTP/1.1\r\n\r\n');
          sent = true;
        }
        gate.worked();
      }
      expect(readAt).toHaveLength(1);
      expect(readAt[0]).toBeLessThan(400);
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('settle() pauses once after work since the last pause, and not at all without', async () => {
    const gate = createYieldGate(1000);
    expect(gate.settle()).toBeUndefined();
    const order: string[] = [];
    expect(gate.pass()).toBeUndefined();
    work(0.01);
    gate.worked(); // well within the slice: the gate stays open
    expect(gate.pass()).toBeUndefined();
    setImmediate(() => order.push('pending I/O'));
    const settled = gate.settle();
    expect(settled).toBeInstanceOf(Promise);
    await settled;
    order.push('after settle');
    expect(order).toEqual(['pending I/O', 'after settle']);
    // Nothing processed since that pause: no second one.
    expect(gate.settle()).toBeUndefined();
  });

  it('every worker waiting on the closed gate goes on once it opens', async () => {
    const gate = createYieldGate(0);
    let ran = false;
    setImmediate(() => (ran = true)); // pending before the gate closes: it runs first
    gate.worked(); // slice of 0 ms: closed at once
    const waits = [gate.pass(), gate.pass(), gate.pass()];
    expect(waits.every((w) => w instanceof Promise)).toBe(true);
    // One pause shared by every waiter: no promise or closure per waiter.
    expect(waits[1]).toBe(waits[0]);
    expect(waits[2]).toBe(waits[0]);
    for (const w of waits) await w;
    expect(ran).toBe(true);
    expect(gate.pass()).toBeUndefined();
  });

  it('a waiter that resumes after another worker closed the gate again waits for the next pause', async () => {
    const gate = createYieldGate(0);
    gate.worked(); // closed at once
    const order: string[] = [];
    const worker = async (name: string) => {
      for (let p = gate.pass(); p; p = gate.pass()) {
        order.push(`${name} waits`);
        await p;
      }
      order.push(`${name} works`);
      gate.worked(); // a 0 ms slice: closes the gate again
    };
    await Promise.all([worker('a'), worker('b')]);
    // b resumed from the first pause after a had closed the gate again: it waited for the next one.
    expect(order).toEqual(['a waits', 'b waits', 'a works', 'b waits', 'b works']);
  });
});
