// Issue 11: a secret that arrives inside bad market data (a provider echoing a request URL into a
// field) never reaches an issue message, an onIssue event's message or a thrown SeriesShapeError.
import { SECRET_SPELLINGS as SPELLINGS, TEST_SECRET as SECRET } from '@pipeline/test-utils';
import { createValidator, ManualClock, type Bar, type IssueEvent } from './index';

const VALUES = [
  ...SPELLINGS.flatMap((n) => [
    `https://x.io/q?${n}=${SECRET}`,
    `${n}=${SECRET}`,
    JSON.stringify({ [n]: SECRET }),
  ]),
  `Bearer ${SECRET}`,
];
const bar: Bar = {
  symbol: 'EURUSD',
  timeframe: '1m',
  ts: Date.UTC(2024, 0, 2, 10, 0),
  open: 1.1,
  high: 1.2,
  low: 1.0,
  close: 1.15,
  volume: 0,
  source: 'yahoo',
  final: true,
  quality: 1,
};

it('masks secrets quoted in issue messages, events and shape errors', () => {
  const validator = createValidator({ clock: new ManualClock(Date.UTC(2024, 0, 2, 10, 1)) });
  const events: IssueEvent[] = [];
  validator.onIssue((e) => events.push(e));
  const messages: string[] = [];
  for (const value of VALUES) {
    for (const broken of [
      { ...bar, timeframe: value },
      { ...bar, final: value },
      { ...bar, symbol: value === '' ? 1 : [value] },
      { ...bar, volume: value },
      { ...bar, close: value },
      value,
    ]) {
      const r = validator.validate(broken as unknown as Bar);
      expect(r.issues.length).toBeGreaterThan(0);
      messages.push(...r.issues.map((i) => i.message));
      const series = validator.validateSeries([broken as unknown as Bar]);
      messages.push(...series.issues.flatMap((x) => x.issues.map((i) => i.message)));
    }
    for (const columns of [
      { symbol: value, timeframe: '1m' },
      { symbol: 'EURUSD', timeframe: value },
    ]) {
      try {
        validator.validateSeries({
          ...columns,
          ts: [1],
          open: [1],
          high: [1],
          low: [1],
          close: [1],
          volume: [0],
        } as never);
      } catch (e) {
        messages.push((e as Error).message);
      }
    }
  }
  const all = [...messages, ...events.map((e) => e.issue.message)];
  expect(messages.length).toBeGreaterThan(VALUES.length * 10);
  expect(all.filter((m) => m.includes(SECRET))).toEqual([]);
  expect(all.filter((m) => m.includes('***')).length).toBeGreaterThan(VALUES.length * 10);
});
