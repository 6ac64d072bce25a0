/**
 * GET /impact's reply, written as bytes. A dataset used by 10,000 versions makes an 850 KB
 * reply; as a JavaScript string (the compiled serializer's or JSON.stringify's) about half its
 * server CPU went to the string: building it, flattening it (V8 builds a long string as a tree
 * of pieces) and encoding it to UTF-8, about 8 of 16-20 ms a request. An affected version's
 * JSON is its model's opening, its version number, then a closing shared by every version with
 * the same stage, directness and no alias: those are encoded once each and copied, and the
 * digits written in place. The bytes are what JSON.stringify gives for the same object (the
 * test holds it to that); the datasets are presented by the route, as GET shows them.
 */
import type { Affected } from '../core/services/lineage-service.js';

export interface ImpactReply {
  affected: readonly Affected[];
  datasets: readonly unknown[];
  in_production: number;
}

export function impactReplyBytes(reply: ImpactReply): Buffer {
  const { affected } = reply;
  const opening = Buffer.from('{"affected":[');
  const closing = Buffer.from(`],"datasets":${JSON.stringify(reply.datasets)},"in_production":${JSON.stringify(reply.in_production)}}`);
  // Per model `{"model":"<name>","version":`; per stage and directness (no alias) the rest.
  const heads = new Map<string, Buffer>();
  const tails = new Map<string, Buffer>();
  const rowHeads: Buffer[] = new Array(affected.length);
  const rowTails: Buffer[] = new Array(affected.length);
  let size = opening.length + closing.length + Math.max(0, affected.length - 1);
  for (let i = 0; i < affected.length; i++) {
    const row = affected[i]!;
    let head = heads.get(row.model);
    if (!head) heads.set(row.model, head = Buffer.from(`{"model":${JSON.stringify(row.model)},"version":`));
    let tail: Buffer;
    if (row.aliases.length === 0) {
      const key = row.direct ? row.stage : `-${row.stage}`;
      let shared = tails.get(key);
      if (!shared) tails.set(key, shared = rowTail(row));
      tail = shared;
    } else {
      tail = rowTail(row);
    }
    rowHeads[i] = head;
    rowTails[i] = tail;
    size += head.length + digitCount(row.version) + tail.length;
  }
  const out = Buffer.allocUnsafe(size);
  out.set(opening, 0);
  let at = opening.length;
  for (let i = 0; i < affected.length; i++) {
    if (i > 0) out[at++] = 0x2c; // ,
    const head = rowHeads[i]!;
    out.set(head, at);
    at += head.length;
    at = writeDigits(out, at, affected[i]!.version);
    const tail = rowTails[i]!;
    out.set(tail, at);
    at += tail.length;
  }
  out.set(closing, at);
  return out;
}

function rowTail(row: Affected): Buffer {
  return Buffer.from(`,"stage":${JSON.stringify(row.stage)},"aliases":${JSON.stringify(row.aliases)},"direct":${row.direct}}`);
}

/** Digits of a version number: a non-negative safe integer (in practice 1 to 2^31 - 1). */
function digitCount(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`version number out of range: ${n}`);
  let count = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) count += 1;
  return count;
}

function writeDigits(out: Buffer, at: number, n: number): number {
  const end = at + digitCount(n);
  let rest = n;
  for (let i = end - 1; i >= at; i--) {
    out[i] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return end;
}
