// Runs examples/quick-start.ts (the README's quick start) so the documented code keeps working.
it('the README quick start runs and prints the documented values', async () => {
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(
      args
        .map((a) => (typeof a === 'string' || typeof a === 'number' ? String(a) : JSON.stringify(a)))
        .join(' '),
    );
  });
  try {
    await import('../examples/quick-start');
  } finally {
    spy.mockRestore();
  }
  expect(lines).toContain('FEATURES_NOT_STABLE');
  expect(lines).toContain('restored RSI equals true');
  expect(lines.some((l) => l.startsWith('EMA(12) first valid at index 11: NaN '))).toBe(true);
  expect(lines[lines.length - 1]).toMatch(/\["1m","5m","15m","1h"\]$/);
});
