import { ManualClock, OptionsError, TIMEFRAME_MS, alignTs, type Bar } from '@pipeline/core';
import { qualityOf } from './check';
import { RULE_DEFAULTS, VALIDATOR_DEFAULTS } from './options';
import { RULES, RULE_BITS, RULE_ORDER, STATUS_CODES, rulesInMask } from './rules';
import { createValidator, type IssueEvent, type Validator } from './validator';

const T0 = Date.UTC(2024, 0, 2, 10, 0, 0);
const MIN = TIMEFRAME_MS['1m'];

function bar(over: Partial<Bar> = {}): Bar {
  return {
    symbol: 'EURUSD',
    timeframe: '1m',
    ts: T0,
    open: 1.1,
    high: 1.102,
    low: 1.099,
    close: 1.101,
    volume: 0,
    source: 'yahoo',
    final: true,
    quality: 1,
    ...over,
  };
}

function setup(
  rules: Parameters<typeof createValidator>[0] = {},
  now = T0 + 30_000,
): { v: Validator; clock: ManualClock } {
  // By default the clock sits inside the first minute under test, so a forming bar at T0 is live.
  const clock = new ManualClock(now);
  return { v: createValidator({ clock, ...rules }), clock };
}

const rulesOf = (r: { issues: { rule: string }[] }): string[] => r.issues.map((i) => i.rule);

describe('clean bars', () => {
  it('accepts a clean bar with quality 1 and sets quality on the returned copy', () => {
    const { v } = setup();
    const input = bar({ quality: 0.3 });
    const r = v.validate(input);
    expect(r).toEqual({ status: 'accepted', quality: 1, issues: [], bar: { ...input, quality: 1 } });
    expect(input.quality).toBe(0.3);
  });
});

describe('schema', () => {
  it.each([
    [{ symbol: '' }, 'symbol'],
    [{ timeframe: '2m' as never }, 'timeframe'],
    [{ final: 'yes' as never }, 'final'],
  ])('rejects %j', (over, field) => {
    const { v } = setup();
    const r = v.validate(bar(over));
    expect(r.status).toBe('rejected');
    expect(r.quality).toBe(0);
    expect(r.issues).toEqual([expect.objectContaining({ rule: 'schema', severity: 'error', field })]);
  });

  it('rejects a non-object without throwing', () => {
    const { v } = setup();
    expect(v.validate(null as never).issues[0]!.message).toBe('bar must be an object, got null');
  });
});

describe('nonFinite and nonPositive', () => {
  it.each([
    ['open', NaN],
    ['high', Infinity],
    ['low', null],
    ['close', undefined],
    ['ts', NaN],
  ])('rejects %s = %s', (field, value) => {
    const { v } = setup();
    const r = v.validate(bar({ [field]: value }));
    expect(r.status).toBe('rejected');
    expect(r.issues).toEqual([
      {
        rule: 'nonFinite',
        severity: 'error',
        field,
        message: `${field} is not a finite number: ${String(value)}`,
      },
    ]);
  });

  it.each([
    ['open', 0],
    ['low', -1.1],
  ])('rejects %s = %s', (field, value) => {
    const { v } = setup();
    const r = v.validate(bar({ [field]: value }));
    expect(r.issues).toEqual([
      { rule: 'nonPositive', severity: 'error', field, message: `${field} must be > 0, got ${value}` },
    ]);
  });
});

describe('ohlc', () => {
  it('repairs a tiny violation by widening high and low', () => {
    const { v } = setup();
    // close 0.5 bp above high, open 0.3 bp below low
    const r = v.validate(bar({ open: 1.09897, high: 1.1, low: 1.099, close: 1.10005 }));
    expect(r.status).toBe('repaired');
    expect(r.bar.high).toBe(1.10005);
    expect(r.bar.low).toBe(1.09897);
    expect(r.quality).toBeCloseTo(1 - RULE_DEFAULTS.ohlc.penalty, 12);
    expect(r.issues).toEqual([expect.objectContaining({ rule: 'ohlc', severity: 'warning', field: 'high' })]);
    expect(r.issues[0]!.message).toMatch(/^high\/low widened by 0.00005 \(0.4545\d* bp of the close\)/);
  });

  it('rejects a violation above the tolerance and does not repair it', () => {
    const { v } = setup();
    const r = v.validate(bar({ high: 1.1, close: 1.102 }));
    expect(r.status).toBe('rejected');
    expect(r.bar.high).toBe(1.1);
    expect(r.issues[0]).toMatchObject({ rule: 'ohlc', severity: 'error', field: 'high' });
  });

  it('rejects low above high', () => {
    const { v } = setup();
    const r = v.validate(bar({ open: 1.1, close: 1.1, high: 1.1, low: 1.10001 }));
    expect(r.status).toBe('rejected');
    expect(r.issues[0]!.message).toBe('low 1.10001 is above high 1.1');
  });

  it('rejects even tiny violations when repair is off', () => {
    const { v } = setup({ rules: { ohlc: { repair: false } } });
    expect(v.validate(bar({ high: 1.1, close: 1.10001 })).status).toBe('rejected');
  });
});

describe('volume', () => {
  it('repairs a missing volume to 0', () => {
    const { v } = setup();
    const r = v.validate(bar({ volume: null as never }));
    expect(r.status).toBe('repaired');
    expect(r.bar.volume).toBe(0);
    expect(r.quality).toBeCloseTo(0.95, 12);
    expect(r.issues[0]).toEqual({
      rule: 'volume',
      severity: 'warning',
      field: 'volume',
      message: 'missing volume (null) set to 0',
    });
  });

  it.each([-1, Infinity, '12'])('rejects volume %j', (volume) => {
    const { v } = setup();
    expect(v.validate(bar({ volume: volume as number })).issues[0]).toMatchObject({
      rule: 'volume',
      severity: 'error',
    });
  });

  it('rejects a missing volume when repairMissing is off', () => {
    const { v } = setup({ rules: { volume: { repairMissing: false } } });
    expect(v.validate(bar({ volume: NaN })).status).toBe('rejected');
  });
});

describe('time rules', () => {
  it('rejects a misaligned ts', () => {
    const { v } = setup();
    const r = v.validate(bar({ ts: T0 + 1_000 }));
    expect(r.issues).toEqual([
      { rule: 'misaligned', severity: 'error', field: 'ts', message: 'ts is not aligned to 1m' },
    ]);
  });

  it('rejects a bar opening beyond now + tolerance, accepts one within', () => {
    const { v, clock } = setup({ rules: { future: { toleranceMs: 30_000 } } });
    const nextMinute = alignTs(clock.now(), '1m') + MIN;
    clock.set(nextMinute - 30_000);
    expect(v.validate(bar({ ts: nextMinute })).status).toBe('accepted');
    const r = v.validate(bar({ ts: nextMinute + MIN }));
    expect(r.status).toBe('rejected');
    expect(r.issues[0]!.message).toBe('ts lies 90000 ms in the future (tolerance 30000 ms)');
  });
});

describe('order, replacement and duplicates', () => {
  it('treats a repeated forming bar with the same ts as a replacement', () => {
    const { v } = setup();
    expect(v.validate(bar({ final: false, close: 1.1 })).status).toBe('accepted');
    const r = v.validate(bar({ final: false, close: 1.1015, high: 1.102 }));
    expect(r.status).toBe('accepted');
    expect(r.issues).toEqual([]);
    expect(v.validate(bar({ final: true })).status).toBe('accepted');
  });

  it('rejects an exact repeat of a final bar as a duplicate (severity info)', () => {
    const { v } = setup({}, T0 + 10 * MIN);
    v.validate(bar());
    const r = v.validate(bar());
    expect(r.status).toBe('rejected');
    expect(r.issues).toEqual([
      { rule: 'duplicate', severity: 'info', message: 'exact repeat of a final bar' },
    ]);
    // an ohlc repair before the duplicate rule does not leak its field into the duplicate issue
    v.validate(bar({ ts: T0 + MIN, high: 1.1, close: 1.1001 }));
    const again = v.validate(bar({ ts: T0 + MIN, high: 1.1, close: 1.1001 }));
    expect(again.issues.map((i) => [i.rule, i.severity, i.field])).toEqual([
      ['ohlc', 'warning', 'high'],
      ['duplicate', 'info', undefined],
    ]);
  });

  it('keeps a changed final bar as a revision with a warning', () => {
    const { v } = setup();
    v.validate(bar());
    const r = v.validate(bar({ close: 1.1012 }));
    expect(r.status).toBe('accepted');
    expect(r.quality).toBeCloseTo(0.9, 12);
    expect(r.issues).toEqual([
      { rule: 'duplicate', severity: 'warning', message: 'revision of a final bar (replaced)' },
    ]);
  });

  it('rejects a forming update after the final bar and a bar going back in time', () => {
    const { v } = setup({}, T0 + 10 * MIN);
    v.validate(bar({ ts: T0 + MIN }));
    expect(v.validate(bar({ ts: T0 + MIN, final: false })).issues[0]).toMatchObject({
      rule: 'order',
      field: 'final',
      message: 'forming update after the final bar for the same ts',
    });
    const back = v.validate(bar({ ts: T0 }));
    expect(back.status).toBe('rejected');
    expect(back.issues[0]).toMatchObject({
      rule: 'order',
      field: 'ts',
      message: `ts goes back from ${T0 + MIN}`,
    });
  });

  it('keeps state per (symbol, timeframe)', () => {
    const { v } = setup({}, T0 + 10 * MIN);
    v.validate(bar({ ts: T0 + MIN }));
    expect(v.validate(bar({ symbol: 'GBPUSD', ts: T0 })).status).toBe('accepted');
    expect(v.validate(bar({ timeframe: '5m', ts: T0 })).status).toBe('accepted');
    expect(v.seriesCount).toBe(3);
  });

  it('a rejected bar does not move the state', () => {
    const { v } = setup({}, T0 + 10 * MIN);
    v.validate(bar({ ts: T0 }));
    v.validate(bar({ ts: T0 + 2 * MIN, close: NaN }));
    expect(v.validate(bar({ ts: T0 + MIN })).status).toBe('accepted');
  });

  it('forgets the least recently used series beyond maxSeries', () => {
    const { v } = setup({ maxSeries: 2 }, T0 + 10 * MIN);
    v.validate(bar({ symbol: 'A1', ts: T0 + MIN }));
    v.validate(bar({ symbol: 'B1', ts: T0 + MIN }));
    v.validate(bar({ symbol: 'A1', ts: T0 + 2 * MIN })); // A1 is now the most recent
    v.validate(bar({ symbol: 'C1', ts: T0 + MIN })); // evicts B1
    expect(v.seriesCount).toBe(2);
    // A1 still remembers its last ts; B1 was forgotten, so an older bar is no longer out of order
    expect(v.validate(bar({ symbol: 'A1', ts: T0 })).status).toBe('rejected');
    expect(v.validate(bar({ symbol: 'B1', ts: T0 })).status).toBe('accepted');
  });
});

/** A random-walk series of clean 1m bars with log-return sigma `sigma`. */
function walk(n: number, sigma: number, seed = 1, start = T0): Bar[] {
  let s = seed;
  const rand = (): number => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  const gauss = (): number => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  const out: Bar[] = [];
  let price = 1.1;
  for (let i = 0; i < n; i++) {
    const open = price;
    price = price * Math.exp(sigma * gauss());
    out.push(
      bar({
        ts: start + i * MIN,
        open,
        close: price,
        high: Math.max(open, price) * 1.00001,
        low: Math.min(open, price) * 0.99999,
      }),
    );
  }
  return out;
}

describe('spike', () => {
  const sigma = 0.0005;
  const noFlat = { flatline: { enabled: false } };
  const DAY = 86_400_000;

  it('needs minHistory returns before judging', () => {
    const { v } = setup({ rules: noFlat }, T0 + DAY);
    const series = walk(10, sigma);
    for (const b of series) v.validate(b);
    const last = series.at(-1)!;
    const jump = last.close * 1.05;
    expect(
      v.validate(bar({ ts: last.ts + MIN, open: jump, high: jump, low: jump, close: jump })).issues,
    ).toEqual([]);
  });

  it('flags a jump of many sigmas, keeps the bar, and does not flag the return to the old level', () => {
    const { v } = setup({ rules: noFlat }, T0 + DAY);
    const series = walk(60, sigma);
    for (const b of series) expect(v.validate(b).issues).toEqual([]);
    const last = series.at(-1)!;
    const bad = last.close * 1.01; // 1 % ~ 20 sigma
    const r = v.validate(bar({ ts: last.ts + MIN, open: bad, high: bad, low: bad, close: bad }));
    expect(r.status).toBe('accepted');
    expect(r.quality).toBeCloseTo(0.5, 12);
    expect(r.issues).toEqual([
      expect.objectContaining({ rule: 'spike', severity: 'warning', field: 'close' }),
    ]);
    expect(r.issues[0]!.message).toMatch(/^close moved \d+(\.\d+)? sigma/);
    const back = last.close;
    expect(
      v.validate(bar({ ts: last.ts + 2 * MIN, open: back, high: back, low: back, close: back })).issues,
    ).toEqual([]);
  });

  it('flags a replacement of the forming bar against the same base, and rejects with action reject', () => {
    const { v } = setup({ rules: { ...noFlat, spike: { action: 'reject' } } }, T0 + 60 * MIN + 30_000);
    const series = walk(60, sigma);
    for (const b of series) v.validate(b);
    const last = series.at(-1)!;
    const ts = last.ts + MIN;
    expect(
      v.validate(
        bar({ ts, final: false, open: last.close, high: last.close, low: last.close, close: last.close }),
      ).status,
    ).toBe('accepted');
    const bad = last.close * 0.98;
    const r = v.validate(bar({ ts, final: false, open: last.close, high: last.close, low: bad, close: bad }));
    expect(r.status).toBe('rejected');
    expect(r.issues[0]).toMatchObject({ rule: 'spike', severity: 'error' });
  });

  it('does not flag a normal move', () => {
    const { v } = setup({ rules: noFlat }, T0 + DAY);
    const series = walk(300, sigma, 7);
    const flagged = series.map((b) => v.validate(b)).filter((r) => r.issues.length > 0);
    expect(flagged).toEqual([]);
  });

  it('uses minSigma on a flat stretch', () => {
    const { v } = setup({ rules: noFlat }, T0 + DAY);
    const flat = Array.from({ length: 30 }, (_, i) =>
      bar({ ts: T0 + i * MIN, open: 1.1, high: 1.1, low: 1.1, close: 1.1 }),
    );
    for (const b of flat) v.validate(b);
    const up = (p: number, i: number): Bar =>
      bar({ ts: T0 + (30 + i) * MIN, open: 1.1, high: p, low: 1.1, close: p });
    // 1 pip = ~0.9 bp: under 6 * 1 bp
    expect(v.validate(up(1.1001, 0)).issues).toEqual([]);
    // 10 pips = ~9 bp: over 6 * 1 bp
    expect(rulesOf(v.validate(up(1.1011, 1)))).toEqual(['spike']);
  });
});

describe('stale and flatline', () => {
  it('flags a forming bar whose period ended more than staleAfterMs ago (ManualClock)', () => {
    const clock = new ManualClock(T0 + 30_000);
    const v = createValidator({ clock, rules: { stale: { staleAfterMs: 10_000 } } });
    expect(v.validate(bar({ final: false })).issues).toEqual([]);
    clock.advance(30_000 + 10_000); // the period ended exactly staleAfterMs ago
    expect(v.validate(bar({ final: false, close: 1.1011 })).issues).toEqual([]);
    clock.advance(1);
    const r = v.validate(bar({ final: false, close: 1.1012 }));
    expect(r.status).toBe('accepted');
    expect(r.quality).toBeCloseTo(0.5, 12);
    expect(r.issues).toEqual([
      {
        rule: 'stale',
        severity: 'warning',
        message: 'forming bar ended 10001 ms ago (stale after 10000 ms)',
      },
    ]);
    // a final bar of the past is history, not stale
    expect(v.validate(bar({ final: true, close: 1.1012 })).issues).toEqual([]);
  });

  it('reports staleness of a series from the clock', () => {
    const clock = new ManualClock(T0 + 30_000);
    const v = createValidator({ clock });
    expect(v.staleness('EURUSD', '1m')).toBeNull();
    v.validate(bar({ final: false }));
    clock.advance(10_000);
    expect(v.staleness('EURUSD', '1m')).toEqual({
      lastTs: T0,
      lastUpdateAt: T0 + 30_000,
      ageMs: 10_000,
      stale: false,
    });
    clock.advance(1);
    expect(v.staleness('EURUSD', '1m')!.stale).toBe(true);
  });

  it('flags an unchanged close after maxUnchangedUpdates updates', () => {
    const clock = new ManualClock(T0 + 30_000);
    const v = createValidator({ clock, rules: { flatline: { maxUnchangedUpdates: 3 } } });
    const results = [0, 1, 2, 3, 4].map(() => v.validate(bar({ final: false })));
    expect(results.map(rulesOf)).toEqual([[], [], [], ['flatline'], ['flatline']]);
    expect(results[3]!.issues[0]!.message).toBe('close unchanged for 3 consecutive updates');
    expect(results[3]!.quality).toBeCloseTo(0.7, 12);
    expect(rulesOf(v.validate(bar({ final: false, close: 1.1011 })))).toEqual([]);
  });
});

describe('disagreement', () => {
  it('flags a bar that differs from the reference source beyond the tolerance', () => {
    const { v } = setup();
    const ref = bar({ source: 'polygon', close: 1.1012 });
    expect(v.validate(bar(), { reference: ref }).issues).toEqual([]); // ~1 bp
    const near = v.validate(bar({ symbol: 'GBPUSD', close: 1.1, low: 1.098 }), {
      reference: bar({ close: 1.1, low: 1.0999 }),
    });
    expect(near.issues).toEqual([]); // low 17 bp apart, under the 20 bp tolerance
    const far = v.validate(bar({ symbol: 'USDJPY' }), { reference: bar({ open: 1.11, high: 1.112 }) });
    expect(far.issues).toEqual([
      {
        rule: 'disagreement',
        severity: 'warning',
        field: 'open',
        message: 'open differs from the reference source by 90.0901 bp (tolerance 20 bp)',
      },
    ]);
    expect(far.quality).toBeCloseTo(0.6, 12);
  });

  it('ignores a reference for another ts', () => {
    const { v } = setup();
    expect(v.validate(bar(), { reference: bar({ ts: T0 - MIN, close: 2 }) }).issues).toEqual([]);
  });
});

describe('quality score', () => {
  it('multiplies (1 - penalty) over the distinct rules that kept the bar with an issue', () => {
    const clock = new ManualClock(T0 + 10 * MIN);
    const v = createValidator({ clock, rules: { flatline: { maxUnchangedUpdates: 1 } } });
    v.validate(bar({ final: false }));
    // flatline + stale + disagreement + ohlc repair + volume repair on one bar
    const r = v.validate(bar({ final: false, high: 1.10099, volume: NaN }), {
      reference: bar({ close: 1.2 }),
    });
    expect(rulesOf(r).sort()).toEqual(['disagreement', 'flatline', 'ohlc', 'stale', 'volume']);
    expect(r.status).toBe('repaired');
    expect(r.quality).toBeCloseTo((1 - 0.1) * (1 - 0.05) * (1 - 0.5) * (1 - 0.3) * (1 - 0.4), 12);
  });

  it('qualityOf is 0 for rejected and follows the configured penalties', () => {
    const p = RULE_ORDER.map(() => 0.25);
    expect(qualityOf(RULE_BITS.spike | RULE_BITS.stale, STATUS_CODES.accepted, p)).toBe(0.5625);
    expect(qualityOf(RULE_BITS.spike, STATUS_CODES.rejected, p)).toBe(0);
    expect(qualityOf(0, STATUS_CODES.accepted, p)).toBe(1);
    expect(rulesInMask(RULE_BITS.spike | RULE_BITS.ohlc)).toEqual(['ohlc', 'spike']);
  });
});

describe('counters and onIssue', () => {
  it('counts per rule and totals, and reports each issue to listeners until disposed', () => {
    const { v } = setup({}, T0 + 10 * MIN);
    const events: IssueEvent[] = [];
    const sub = v.onIssue((e) => events.push(e));
    v.onIssue(() => {
      throw new Error('a broken metrics hook');
    });
    v.validate(bar({ ts: T0 }));
    v.validate(bar({ ts: T0 + MIN, volume: NaN }));
    v.validate(bar({ ts: T0 + 2 * MIN, close: NaN }));
    v.validate(bar({ ts: T0 + 2 * MIN, high: 1.1, close: 1.1001 }));
    v.validate(bar({ ts: T0 + 2 * MIN, high: 1.1, close: 1.1001 }));
    const c = v.counters();
    expect(c).toMatchObject({ bars: 5, accepted: 1, repaired: 2, rejected: 2 });
    expect(c.rules.nonFinite).toEqual({ accepted: 4, flagged: 0, repaired: 0, rejected: 1 });
    // the last bar was repaired by ohlc before the duplicate rule rejected it: each rule counts what it did
    expect(c.rules.ohlc).toEqual({ accepted: 2, flagged: 0, repaired: 2, rejected: 0 });
    expect(c.rules.volume).toEqual({ accepted: 3, flagged: 0, repaired: 1, rejected: 0 });
    expect(c.rules.duplicate).toEqual({ accepted: 3, flagged: 0, repaired: 0, rejected: 1 });
    expect(c.rules.spike).toEqual({ accepted: 3, flagged: 0, repaired: 0, rejected: 0 });
    expect(events.map((e) => [e.issue.rule, e.status, e.ts])).toEqual([
      ['volume', 'repaired', T0 + MIN],
      ['nonFinite', 'rejected', T0 + 2 * MIN],
      ['ohlc', 'repaired', T0 + 2 * MIN],
      ['ohlc', 'rejected', T0 + 2 * MIN],
      ['duplicate', 'rejected', T0 + 2 * MIN],
    ]);
    sub.dispose();
    sub.dispose();
    v.validate(bar({ ts: T0 + 3 * MIN, volume: NaN }));
    expect(events).toHaveLength(5);
    v.resetCounters();
    expect(v.counters().bars).toBe(0);
  });

  it('a disabled rule counts nothing', () => {
    const { v } = setup({ rules: { spike: { enabled: false } } });
    v.validate(bar());
    expect(v.counters().rules.spike).toEqual({ accepted: 0, flagged: 0, repaired: 0, rejected: 0 });
  });
});

describe('options', () => {
  it('has frozen defaults', () => {
    expect(Object.isFrozen(VALIDATOR_DEFAULTS)).toBe(true);
    expect(Object.isFrozen(RULE_DEFAULTS.spike)).toBe(true);
    expect(Object.keys(RULE_DEFAULTS)).toEqual(Object.values(RULES));
  });

  it.each([
    [{ clok: 1 }, /unknown option "clok"/],
    [{ rules: { spikes: {} } }, /unknown rule "spikes" in option "rules"/],
    [{ rules: { spike: { sigma: 3 } } }, /rules.spike: unknown option "sigma"/],
    [{ rules: { spike: { k: 0 } } }, /"rules.spike.k" must be a number in .*got 0/],
    [
      { rules: { spike: { window: 10, minHistory: 20 } } },
      /"rules.spike.minHistory" \(20\) must not exceed "rules.spike.window" \(10\)/,
    ],
    [{ rules: { spike: { window: 2.5 } } }, /"rules.spike.window" must be an integer, got 2.5/],
    [{ rules: { spike: { action: 'drop' } } }, /"rules.spike.action" must be "flag" or "reject", got "drop"/],
    [{ rules: { ohlc: { penalty: 2 } } }, /"rules.ohlc.penalty" must be a number in \[0, 1\], got 2/],
    [{ rules: { stale: { enabled: 'no' } } }, /"rules.stale.enabled" must be a boolean, got "no"/],
    [{ maxSeries: 0 }, /"maxSeries" must be a number in \[1, Infinity\], got 0/],
    [{ clock: {} }, /"clock" must have a now\(\) method/],
  ])('rejects %j', (options, message) => {
    expect(() => createValidator(options as never)).toThrow(OptionsError);
    expect(() => createValidator(options as never)).toThrow(message);
  });
});
