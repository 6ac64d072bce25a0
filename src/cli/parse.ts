/**
 * Parsers for option and argument values. They throw commander's InvalidArgumentError, so a
 * bad value is reported as a usage error (exit 2) before anything is sent to the server.
 */
import { InvalidArgumentError } from 'commander';

/** Collects a repeatable option (`--filter a --filter b`) into a list. */
export function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Collects repeatable `key=value` pairs into a map; the value may itself contain `=`. */
export function keyValue(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected key=value');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** Collects repeatable `name=number` metrics. */
export function metric(value: string, previous: Record<string, number> | undefined): Record<string, number> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected name=number');
  const raw = value.slice(eq + 1).trim();
  const number = Number(raw);
  // Number('') is 0 and Number('0x10') is 16; a metric must be written as a decimal number.
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw) || !Number.isFinite(number)) {
    throw new InvalidArgumentError(`${JSON.stringify(raw)} is not a finite number`);
  }
  return { ...previous, [value.slice(0, eq)]: number };
}

/** A whole number of at least 1: version numbers and page sizes. */
export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('expected a whole number of at least 1');
  }
  return Number(value);
}
