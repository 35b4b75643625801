import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type TcpNetConnectOpts } from 'node:net';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';

/**
 * The egress policy for every URL the server fetches on a user's behalf (webhook deliveries today). Only public
 * unicast addresses are reachable: loopback, private, link-local (cloud metadata at 169.254.169.254), unique-local,
 * carrier-grade NAT (Alibaba's metadata at 100.100.100.200), multicast, unspecified, IPv4-mapped and other special
 * ranges are refused. The check runs on the address the socket actually connects to (request-filtering-agent
 * validates inside the DNS lookup of each connection), so a name that resolves to a public address when the
 * subscription is made and to 127.0.0.1 later (DNS rebinding) is refused too. Numeric forms (2130706433,
 * 0x7f000001, [::ffff:127.0.0.1]) are normalised by the URL parser to the address they mean.
 */

/** What a delivery log may say about a refused destination: nothing that tells a closed port from an open one. */
export const EGRESS_REFUSED_MESSAGE = 'refused by egress policy';

/** Cloud metadata services, refused by name whatever they resolve to (off the cloud they usually do not resolve). */
const metadataHostnames = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

export type LookupFunction = NonNullable<TcpNetConnectOpts['lookup']>;

/** A host (any port) or host:port an operator lets deliveries reach although its address is not public. */
export interface AllowedHost {
  hostname: string;
  port?: number;
}

export interface EgressPolicy {
  allowedHosts: readonly AllowedHost[];
  /** DNS resolution used at subscribe time and for every connection; tests pass one that maps names. */
  lookup: LookupFunction;
}

/** A destination the policy does not allow. `reason` is for the subscriber's 422, never for the delivery log. */
export class EgressRefusedError extends Error {
  constructor(readonly reason: string) {
    super(EGRESS_REFUSED_MESSAGE);
    this.name = 'EgressRefusedError';
  }
}

export class EgressTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'EgressTimeoutError';
  }
}

export function createEgressPolicy(options: { allowedHosts?: readonly AllowedHost[]; lookup?: LookupFunction } = {}): EgressPolicy {
  return { allowedHosts: options.allowedHosts ?? [], lookup: options.lookup ?? (dnsLookup as LookupFunction) };
}

/** `localhost.` and `LocalHost` are `localhost`; IPv6 literals lose their brackets. */
function normaliseHostname(hostname: string): string {
  const lower = hostname.toLowerCase().replace(/\.$/, '');
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
}

/**
 * `WEBHOOK_ALLOWED_HOSTS` entries: `host`, `host:port`, `[v6]` or `[v6]:port`. Hosts are normalised like URLs are
 * (so `2130706433` means 127.0.0.1). Throws with the entry's position on a malformed one.
 */
export function parseAllowedHosts(list: string): AllowedHost[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry, index) => {
      const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s/[\]@]+)(?::(\d{1,5}))?$/.exec(entry);
      const port = match?.[2] === undefined ? undefined : Number(match[2]);
      let hostname: string | undefined;
      try {
        hostname = match ? new URL(`http://${match[1]}/`).hostname : undefined;
      } catch {
        hostname = undefined;
      }
      if (!hostname || (port !== undefined && (port < 1 || port > 65535))) {
        throw new Error(`entry ${index + 1} is not host or host:port`);
      }
      return { hostname: normaliseHostname(hostname), ...(port === undefined ? {} : { port }) };
    });
}

function effectivePort(url: URL): number {
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

function isAllowlisted(policy: EgressPolicy, url: URL): boolean {
  const hostname = normaliseHostname(url.hostname);
  const port = effectivePort(url);
  return policy.allowedHosts.some((allowed) => allowed.hostname === hostname && (allowed.port === undefined || allowed.port === port));
}

const rangeWords: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  linkLocal: 'a link-local address (where cloud metadata services live)',
  uniqueLocal: 'a unique-local address',
  multicast: 'a multicast address',
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
  carrierGradeNat: 'a carrier-grade NAT address (where some cloud metadata services live)',
  ipv4Mapped: 'an IPv4-mapped IPv6 address',
  reserved: 'a reserved address',
};

/** Why an IP address may not be reached, or undefined for a public unicast one (request-filtering-agent's rule). */
export function addressRefusal(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  const range = ipaddr.parse(address).range();
  if (range === 'unicast') return undefined;
  return rangeWords[range] ?? `a special-purpose address (${range})`;
}

/** Names refused before any lookup: metadata services and the loopback names of RFC 6761. */
function hostnameRefusal(hostname: string): string | undefined {
  if (metadataHostnames.has(hostname)) return `${hostname} is a cloud metadata service`;
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return `${hostname} is a loopback name`;
  return undefined;
}

function resolveAll(lookup: LookupFunction, hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    lookup(hostname, { all: true }, ((error: NodeJS.ErrnoException | null, addresses: LookupAddress[] | string) => {
      if (error) return reject(error);
      resolve(Array.isArray(addresses) ? addresses : [{ address: addresses, family: isIP(addresses) }]);
    }) as never);
  });
}

/**
 * Checks a destination the way a delivery will, resolving names now: the reason it is refused, or undefined.
 * Subscribing uses it to answer 422 at once; deliveries check again at connection time.
 */
export async function destinationRefusal(policy: EgressPolicy, rawUrl: string): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https are allowed';
  if (isAllowlisted(policy, url)) return undefined;
  const hostname = normaliseHostname(url.hostname);
  if (isIP(hostname)) {
    const why = addressRefusal(hostname);
    return why && `${hostname} is ${why}`;
  }
  const byName = hostnameRefusal(hostname);
  if (byName) return byName;
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(policy.lookup, hostname);
  } catch {
    return `${hostname} does not resolve`;
  }
  for (const { address } of addresses) {
    const why = addressRefusal(address);
    if (why) return `${hostname} resolves to ${address}, ${why}`;
  }
  return undefined;
}

/** request-filtering-agent refuses with a plain Error "DNS lookup <ip>(...) is not allowed. Because, ...". */
function isFilteringAgentRefusal(error: unknown): boolean {
  const message = (error as Error | undefined)?.message ?? '';
  return message.startsWith('DNS lookup ') && message.includes(' is not allowed');
}

export interface EgressResponse {
  status: number;
  headers: IncomingHttpHeaders;
}

/** Receivers answer a status; their body is read (to free the socket) up to this many bytes and dropped. */
const MAX_DISCARDED_BODY_BYTES = 64 * 1024;

/**
 * POSTs through the policy: refused destinations throw EgressRefusedError before a byte is sent; redirects are
 * never followed (node:http does not follow them; the 3xx is the answer).
 */
export async function postThroughEgress(
  policy: EgressPolicy,
  rawUrl: string,
  request: { headers: OutgoingHttpHeaders; body: string; timeoutMs: number },
): Promise<EgressResponse> {
  const url = new URL(rawUrl);
  const allowlisted = isAllowlisted(policy, url);
  if (!allowlisted) {
    const hostname = normaliseHostname(url.hostname);
    const why = isIP(hostname) ? addressRefusal(hostname) : hostnameRefusal(hostname);
    if (why) throw new EgressRefusedError(why);
  }
  const https = url.protocol === 'https:';
  // Agents without keep-alive: every delivery resolves and is checked again, so a cached socket never outlives a rebinding.
  const agent = allowlisted ? (https ? new HttpsAgent() : new HttpAgent()) : https ? new RequestFilteringHttpsAgent() : new RequestFilteringHttpAgent();
  const send = https ? httpsRequest : httpRequest;
  return new Promise<EgressResponse>((resolve, reject) => {
    const outgoing = send(url, { method: 'POST', headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body) }, agent, lookup: policy.lookup });
    const timer = setTimeout(() => outgoing.destroy(new EgressTimeoutError(request.timeoutMs)), request.timeoutMs);
    const fail = (error: unknown) => {
      clearTimeout(timer);
      agent.destroy();
      reject(isFilteringAgentRefusal(error) ? new EgressRefusedError('the resolved address is not public') : error);
    };
    outgoing.on('error', fail);
    outgoing.on('response', (response) => {
      let received = 0;
      const done = () => {
        clearTimeout(timer);
        agent.destroy();
        resolve({ status: response.statusCode ?? 0, headers: response.headers });
      };
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_DISCARDED_BODY_BYTES) {
          response.destroy();
          done();
        }
      });
      response.on('end', done);
      response.on('error', done);
    });
    outgoing.end(request.body);
  });
}

/** A URL as logs and failure messages may show it: no user:password, no query (receivers put tokens there). */
export function urlForLogs(rawUrl: string): string {
  try {
    const url = new URL(rawUrl);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '[invalid url]';
  }
}
