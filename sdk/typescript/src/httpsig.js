// HTTP request signatures (PROTOCOL.md section 12): RFC 9421 HTTP Message Signatures with
// ed25519, in the one canonical form a tradelog node accepts. A node with
// `[api] read_access = "members"` or `"parties"` serves its private reads only to requests
// signed by an active event key of a member organisation.
import { utf8Bytes } from './bytes.js';

/** The `tag` parameter: the signature's namespace. */
export const REQUEST_SIGNATURE_TAG = 'tradelog/request/v1';
/** The covered components, in the order signed. */
export const REQUEST_SIGNATURE_COMPONENTS = Object.freeze(['@method', '@authority', '@path', '@query']);
/** Longest validity window a node accepts, seconds. */
export const MAX_SIGNATURE_VALIDITY_SECS = 300;

const NONCE = /^[A-Za-z0-9._~+/=-]{1,64}$/;

function components({ method, authority, path, query }) {
  return {
    '@method': method,
    '@authority': authority.toLowerCase(),
    '@path': path === '' ? '/' : path,
    '@query': `?${query ?? ''}`,
  };
}

/**
 * The signature base (bytes) of a request `{ method, authority, path, query }` for the
 * `@signature-params` value `params` (the `Signature-Input` member value after `sig1=`).
 */
export function requestSignatureBase(request, params) {
  const c = components(request);
  const lines = REQUEST_SIGNATURE_COMPONENTS.map((name) => `"${name}": ${c[name]}`);
  lines.push(`"@signature-params": ${params}`);
  return utf8Bytes(lines.join('\n'));
}

function base64(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/**
 * Signs a request with `keyPair` (a `KeyPair` of a member organisation's event key). `request`
 * is `{ method, url }` (the full URL the request goes to) or `{ method, authority, path, query }`.
 * Options: `created` (unix seconds, default now), `expires` (default `created + 60`, at most
 * `created + 300`), `nonce` (optional). Returns the two headers to send:
 * `{ 'Signature-Input': ..., 'Signature': ... }`.
 */
export function signRequest(keyPair, request, { created, expires, nonce } = {}) {
  let target = request;
  if (request.url !== undefined) {
    const u = new URL(request.url);
    target = { method: request.method, authority: u.host, path: u.pathname, query: u.search ? u.search.slice(1) : null };
  }
  const c = created ?? Math.floor(Date.now() / 1000);
  const e = expires ?? c + 60;
  if (!Number.isSafeInteger(c) || !Number.isSafeInteger(e) || c < 0 || e <= c || e - c > MAX_SIGNATURE_VALIDITY_SECS) {
    throw new RangeError(`expires: must be after created and at most ${MAX_SIGNATURE_VALIDITY_SECS} s after it`);
  }
  if (nonce !== undefined && !NONCE.test(nonce)) {
    throw new RangeError('nonce: 1-64 characters of A-Z a-z 0-9 - _ . ~ + / =');
  }
  const list = REQUEST_SIGNATURE_COMPONENTS.map((n) => `"${n}"`).join(' ');
  let params = `(${list});created=${c};expires=${e};keyid="${keyPair.publicKey}";alg="ed25519";tag="${REQUEST_SIGNATURE_TAG}"`;
  if (nonce !== undefined) params += `;nonce="${nonce}"`;
  const sig = keyPair.sign(requestSignatureBase(target, params));
  return { 'Signature-Input': `sig1=${params}`, Signature: `sig1=:${base64(sig)}:` };
}
