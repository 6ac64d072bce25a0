import { describe, expect, it } from 'vitest';
import { uuidv7 } from './ids.js';

describe('uuidv7', () => {
  it('is a version 7 UUID that sorts in creation order, also within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_800_000_000_000));
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('starts with its millisecond, big-endian, and differs in its random part', () => {
    const ms = 1_900_000_000_123;
    const [a, b] = [uuidv7(ms), uuidv7(ms)];
    expect(parseInt(a!.slice(0, 8) + a!.slice(9, 13), 16)).toBe(ms);
    expect(a!.slice(15, 18)).toBe('000');
    expect(b!.slice(15, 18)).toBe('001');
    expect(a!.slice(24)).not.toBe(b!.slice(24));
  });
});
