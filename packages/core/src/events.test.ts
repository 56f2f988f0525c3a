import { Emitter, LISTENER_ERROR_WARNING } from './events';

describe('Emitter', () => {
  it('calls listeners in order; dispose unsubscribes once, twice is harmless', () => {
    const e = new Emitter<number>('test');
    const seen: string[] = [];
    const a = e.on((n) => seen.push(`a${n}`));
    e.on((n) => seen.push(`b${n}`));
    e.emit(1);
    a.dispose();
    a.dispose();
    e.emit(2);
    expect(seen).toEqual(['a1', 'b1', 'b2']);
    expect(e.size).toBe(1);
  });

  it('subscribes the same function twice as two subscriptions', () => {
    const e = new Emitter<number>();
    let calls = 0;
    const f = (): void => void calls++;
    const s1 = e.on(f);
    e.on(f);
    e.emit(0);
    s1.dispose();
    e.emit(0);
    expect(calls).toBe(3);
  });

  it('isolates a throwing listener and reports it to the handler with the event', () => {
    const reported: unknown[] = [];
    const e = new Emitter<string>('x', (err, event) => reported.push([String(err), event]));
    const seen: string[] = [];
    e.on(() => {
      throw new Error('boom');
    });
    e.on((s) => seen.push(s));
    expect(() => e.emit('a')).not.toThrow();
    expect(seen).toEqual(['a']);
    expect(reported).toEqual([['Error: boom', 'a']]);
    expect(e.listenerErrors).toBe(1);
  });

  it('without a handler, warns once per emitter (code PIPELINE_LISTENER_ERROR) and counts the rest', () => {
    // jest's sandbox does not route process 'warning' events to the test, so watch emitWarning itself.
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const e = new Emitter<number>('breaker onStateChange');
      e.on(() => {
        throw new Error('listener bug');
      });
      e.emit(1);
      e.emit(2);
      expect(spy).toHaveBeenCalledTimes(1);
      const [message, options] = spy.mock.calls[0] as [string, { code: string }];
      expect(message).toMatch(/breaker onStateChange.*listener bug/);
      expect(options.code).toBe(LISTENER_ERROR_WARNING);
      expect(e.listenerErrors).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('listeners added during emit run from the next emit; clear() removes all', () => {
    const e = new Emitter<number>();
    const seen: number[] = [];
    e.on((n) => {
      seen.push(n);
      e.on((m) => seen.push(m * 10));
    });
    e.emit(1);
    e.emit(2);
    expect(seen).toEqual([1, 2, 20]);
    e.clear();
    e.emit(3);
    expect(seen).toEqual([1, 2, 20]);
  });
});
