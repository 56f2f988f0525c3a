import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Columns } from './series';

export interface ReferenceCase {
  id: string;
  fn: string;
  params: Record<string, number>;
  begIndex: number;
  outputs: Record<string, Float64Array>;
}

export interface ReferenceFile {
  provenance: Record<string, string>;
  series: string;
  bars: number;
  inputSha256: string;
  inputs: Columns;
  cases: ReferenceCase[];
}

export interface SampledCase {
  id: string;
  fn: string;
  params: Record<string, number>;
  begIndex: number;
  outputs: Record<string, { sha256: string; samples: Float64Array }>;
}

export interface SampledReferenceFile {
  provenance: Record<string, string>;
  series: string;
  bars: number;
  inputSha256: string;
  sampleIdx: number[];
  cases: SampledCase[];
}

// Jest runs this file as CommonJS (__dirname); tsx runs the benchmark as ESM, from the package directory.
const dir =
  typeof __dirname === 'string' ? join(__dirname, 'reference') : join(process.cwd(), 'test', 'reference');

export function fromBase64(s: string): Float64Array {
  const buf = Buffer.from(s, 'base64');
  const copy = new ArrayBuffer(buf.length);
  new Uint8Array(copy).set(buf);
  return new Float64Array(copy);
}

export function sha256(f64: Float64Array): string {
  return createHash('sha256')
    .update(Buffer.from(f64.buffer, f64.byteOffset, f64.byteLength))
    .digest('hex');
}

export function inputSha256(s: Columns): string {
  return sha256(Float64Array.from([...s.high, ...s.low, ...s.close, ...s.volume]));
}

export function loadReference(name: string): ReferenceFile {
  const raw = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  const inputs = Object.fromEntries(
    Object.entries(raw.inputs as Record<string, string>).map(([k, v]) => [k, fromBase64(v)]),
  );
  return {
    ...raw,
    inputs: inputs as unknown as Columns,
    cases: (raw.cases as { outputs: Record<string, string> }[]).map((c) => ({
      ...c,
      outputs: Object.fromEntries(Object.entries(c.outputs).map(([k, v]) => [k, fromBase64(v)])),
    })),
  } as ReferenceFile;
}

export function loadSampledReference(name: string): SampledReferenceFile {
  const raw = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  return {
    ...raw,
    cases: (raw.cases as { outputs: Record<string, { sha256: string; samples: string }> }[]).map((c) => ({
      ...c,
      outputs: Object.fromEntries(
        Object.entries(c.outputs).map(([k, v]) => [k, { sha256: v.sha256, samples: fromBase64(v.samples) }]),
      ),
    })),
  } as SampledReferenceFile;
}
