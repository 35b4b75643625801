import { looksLikeToken } from './tokens.js';

/**
 * The per-request reply address of an approval mail: `approvals+<token>.<version prefix>@<INBOUND_EMAIL_DOMAIN>`.
 *
 * The token is the request's link token itself: the same mail already carries it in the link, so an address that
 * holds it reveals nothing the mail did not, and it is as strong as the link (256 bits, only its hash is stored).
 * A second secret per request would add a column and nothing an attacker with the mail could not already use.
 *
 * The version prefix binds the reply to the facts that mail showed (README, Approvals): the reply resolves it to
 * the full version through the run's recorded versions, and the workflow refuses it as stale when the request has
 * changed since. 10 hex characters (40 bits) of a SHA-256 are unique among one run's few versions and keep the
 * local part within SMTP's 64 characters (10 + 43 + 1 + 10). SMTP keeps a local part's case, which the token needs.
 */
export const REPLY_LOCAL_PREFIX = 'approvals+';
export const VERSION_PREFIX_LENGTH = 10;

export function replyAddress(domain: string, token: string, version: string): string {
  return `${REPLY_LOCAL_PREFIX}${token}.${version.slice(0, VERSION_PREFIX_LENGTH)}@${domain}`;
}

export interface ParsedReplyAddress {
  token: string;
  versionPrefix: string;
}

/** The token and version prefix of an address of ours; undefined for any other address (another domain, a bad shape). */
export function parseReplyAddress(address: string, domain: string): ParsedReplyAddress | undefined {
  const at = address.lastIndexOf('@');
  if (at < 0 || address.slice(at + 1).toLowerCase() !== domain.toLowerCase()) return undefined;
  const local = address.slice(0, at);
  if (!local.toLowerCase().startsWith(REPLY_LOCAL_PREFIX)) return undefined;
  const rest = local.slice(REPLY_LOCAL_PREFIX.length);
  const dot = rest.lastIndexOf('.');
  const token = rest.slice(0, dot);
  const versionPrefix = rest.slice(dot + 1).toLowerCase();
  if (dot < 0 || !looksLikeToken(token) || !/^[0-9a-f]{10}$/.test(versionPrefix)) return undefined;
  return { token, versionPrefix };
}
