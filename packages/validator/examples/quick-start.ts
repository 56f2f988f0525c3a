// The README quick start, kept compiling by `tsc -p .` (examples/ is in the package's tsconfig).
import { createValidator, ManualClock, type Bar } from '@pipeline/validator';

const clock = new ManualClock(Date.UTC(2024, 0, 2, 10, 0, 30)); // in production: omit, systemClock is the default
const validator = createValidator({ clock, rules: { spike: { k: 6 }, stale: { staleAfterMs: 10_000 } } });

const sub = validator.onIssue((e) =>
  console.log(`${e.symbol} ${e.issue.rule} (${e.issue.severity}): ${e.issue.message}`),
);

const bar: Bar = {
  symbol: 'EURUSD',
  timeframe: '1m',
  ts: Date.UTC(2024, 0, 2, 10, 0),
  open: 1.0931,
  high: 1.0934,
  low: 1.0929,
  close: 1.09342,
  volume: 0,
  source: 'yahoo',
  final: false,
  quality: 1,
};

const r = validator.validate(bar);
console.log(r.status, r.quality, r.bar.high); // 'repaired' 0.9 1.09342: high widened to contain the close

const again = validator.validate({ ...bar, close: 1.0932 }); // same ts, still forming: a replacement
console.log(again.status, again.issues.length); // 'accepted' 0

// History: columns (typed arrays) in one pass, from a blank state.
const history = validator.validateSeries({
  symbol: 'EURUSD',
  timeframe: '1d',
  ts: [Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 2)],
  open: [1.1213, 1.1221],
  high: [1.1229, 1.1228],
  low: [1.116, 1.1167],
  close: [1.1221, NaN],
  volume: [0, 0],
});
console.log(history.accepted, history.rejected, history.issues[0]?.issues[0]?.message); // 1 1 'close is not a finite number: NaN'

console.log(validator.counters().rules.ohlc); // { accepted: 2, flagged: 0, repaired: 1, rejected: 0 }
sub.dispose();
