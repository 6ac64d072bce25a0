/**
 * The WebhookSender adapter: plain node:http(s) POSTs with a timeout, a capped read of the
 * response, and an address guard. Private, loopback, link-local and other internal addresses
 * are refused unless the host is allow-listed; the guard runs in the socket's DNS lookup, so
 * the address checked is the address connected to (no DNS-rebinding window).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ModelgateError } from '../core/errors.js';
import type { SendResult, WebhookSender } from '../core/ports.js';

const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) INTERNAL.addSubnet(net, prefix, 'ipv4');
// IPv6: unspecified, loopback, IPv4-compatible, NAT64 and 6to4 (both embed IPv4 addresses), unique-local, link-local, multicast.
for (const [net, prefix] of [
  ['::', 96], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) INTERNAL.addSubnet(net, prefix, 'ipv6');

const MAX_READ = 64 * 1024;
const EXCERPT = 1024;

export interface HttpSenderOptions {
  /** Hosts (names or addresses) that may be internal, e.g. 127.0.0.1 in tests or a CI server on the LAN. */
  allowHosts: string[];
  timeoutMs: number;
}

export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 6 && /^::ffff:/i.test(address)) return isInternalAddress(address.slice(7));
  return INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class HttpWebhookSender implements WebhookSender {
  private readonly allow: Set<string>;

  constructor(private readonly options: HttpSenderOptions) {
    this.allow = new Set(options.allowHosts.map((h) => h.toLowerCase().replace(/^\[|\]$/g, '')));
  }

  async check(raw: string): Promise<{ internal: boolean }> {
    const url = this.parse(raw);
    const host = hostOf(url);
    if (this.allow.has(host)) return { internal: true };
    const addresses = isIP(host) ? [host] : await resolveAll(host, raw);
    const blocked = addresses.find(isInternalAddress);
    if (blocked) throw refuse(raw, `${host} resolves to the internal address ${blocked}; allow it with --allow-webhook-hosts`);
    return { internal: false };
  }

  send(raw: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const done = (partial: Omit<SendResult, 'latencyMs'>): SendResult => ({ ...partial, latencyMs: Math.round(performance.now() - started) });
    let url: URL;
    try {
      url = this.parse(raw);
    } catch (err) {
      return Promise.resolve(done({ status: null, retryAfter: null, error: (err as Error).message, responseExcerpt: null }));
    }
    const allowed = this.allow.has(hostOf(url));
    const guardedLookup: LookupFunction = (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) return callback(err, '', 0);
        const usable = allowed ? addresses : addresses.filter((a) => !isInternalAddress(a.address));
        if (usable.length === 0) return callback(Object.assign(new Error(`${hostname} resolves only to internal addresses`), { code: 'EBLOCKED' }), '', 0);
        if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
        callback(null, usable[0]!.address, usable[0]!.family);
      });
    };
    if (!allowed && isIP(hostOf(url)) && isInternalAddress(hostOf(url))) {
      return Promise.resolve(done({ status: null, retryAfter: null, error: `refused: ${hostOf(url)} is an internal address`, responseExcerpt: null }));
    }
    return new Promise((resolve) => {
      const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = requestFn(url, {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body), 'user-agent': 'modelgate-webhooks/1' },
        lookup: guardedLookup,
      }, (res) => {
        const chunks: Buffer[] = [];
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          if (read < MAX_READ) chunks.push(chunk.subarray(0, MAX_READ - read));
          read += chunk.length;
          if (read >= MAX_READ) res.destroy();
        });
        const finish = () => resolve(done({
          status: res.statusCode ?? null,
          retryAfter: parseRetryAfter(res.headers['retry-after']),
          error: null,
          responseExcerpt: Buffer.concat(chunks).toString('utf8').slice(0, EXCERPT),
        }));
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
        res.on('aborted', finish);
      });
      // One deadline for the whole exchange: a receiver that trickles bytes cannot hold a dispatcher.
      const deadline = setTimeout(() => req.destroy(Object.assign(new Error(`no complete response within ${this.options.timeoutMs} ms`), { code: 'ETIMEDOUT' })), this.options.timeoutMs);
      req.on('close', () => clearTimeout(deadline));
      req.on('error', (err: NodeJS.ErrnoException) => resolve(done({ status: null, retryAfter: null, error: `${err.code ?? 'ERROR'}: ${err.message}`, responseExcerpt: null })));
      req.end(body);
    });
  }

  private parse(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw refuse(raw, 'not an absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(raw, 'only http and https URLs are allowed');
    return url;
  }
}

function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
}

function resolveAll(host: string, raw: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (err, addresses) => {
      if (err) reject(refuse(raw, `cannot resolve ${host} (${err.code ?? err.message})`));
      else resolve(addresses.map((a) => a.address));
    });
  });
}

function parseRetryAfter(header: string | string[] | undefined): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function refuse(url: string, why: string): ModelgateError {
  return new ModelgateError('VALIDATION_FAILED', `webhook url ${JSON.stringify(url.slice(0, 200))} refused: ${why}`, { url: url.slice(0, 200) });
}
