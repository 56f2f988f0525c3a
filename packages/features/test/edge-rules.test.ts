// TA-Lib's edge rules, made visible: the values below are read from edge.json (TA-Lib's own output)
// and must equal both the documented constant and ours.
import { computeCase } from './compute';
import { loadReference } from './reference';

const ref = loadReference('edge.json');
const byId = (id: string) => ref.cases.find((c) => c.id === id)!;
const ours = (id: string) => computeCase(byId(id).fn, byId(id).params, ref.inputs);

// Bars 0..44 are flat (o = h = l = c = 50), bars 45..74 widen by the same amount up and down.
describe('TA-Lib edge rules on edge.json', () => {
  it('RSI is 0 (not 50) while prices do not move', () => {
    for (const id of ['rsi14', 'rsi7']) {
      const c = byId(id);
      for (let i = c.begIndex; i < 45; i++) {
        expect(c.outputs.value![i]).toBe(0);
        expect(ours(id).value![i]).toBe(0);
      }
    }
  });

  it('Stochastic %K is 0 when the window has no range', () => {
    const c = byId('stoch14_3_3');
    for (let i = c.begIndex; i < 45; i++) {
      expect(c.outputs.k![i]).toBe(0);
      expect(ours('stoch14_3_3').k![i]).toBe(0);
    }
  });

  it('ATR and the band width are 0 on a flat stretch', () => {
    for (let i = 19; i < 45; i++) {
      expect(byId('atr14').outputs.value![i] ?? 0).toBe(0);
      expect(ours('bbands20').upper![i]).toBe(ours('bbands20').middle![i]);
      expect(byId('bbands20').outputs.upper![i]).toBe(byId('bbands20').outputs.middle![i]);
    }
  });

  it('equal up and down moves count as neither +DM nor -DM (DI stay 0)', () => {
    for (let i = 45; i < 75; i++) {
      expect(byId('plusdi14').outputs.value![i]).toBe(0);
      expect(byId('minusdi14').outputs.value![i]).toBe(0);
      expect(ours('plusdi14').value![i]).toBe(0);
      expect(ours('minusdi14').value![i]).toBe(0);
    }
  });

  it('OBV starts at the first volume and keeps it on unchanged closes', () => {
    expect(byId('obv').outputs.value![0]).toBe(ref.inputs.volume[0]);
    expect(ours('obv').value![0]).toBe(ref.inputs.volume[0]);
    expect(ours('obv').value![44]).toBe(ref.inputs.volume[0]);
  });
});
