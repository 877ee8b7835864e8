// Talking to a node: submitting signed events (`POST /v1/events`, `/v1/events/batch`) with the
// node's errors surfaced as `NodeError {status, code, message}`, and a light client that
// verifies every answer against the genesis alone. Uses the platform's `fetch`.
import { NodeError, JsonError } from './errors.js';
import { Event } from './event.js';
import { parseCertificate, parseHead, verifyCertificate } from './head.js';
import { parseJson } from './json.js';
import { parseMembershipProof, verifyMembershipProof } from './membership.js';
import { parseBundle, verifyBundle } from './bundle.js';
import { containersNamed, parseRoute, verifyRoute, MAX_ROUTE_CONTAINERS, MAX_ROUTE_PAGES, ROUTE_GROUP_VERSION, ROUTE_PAGE_VERSION } from './route.js';
import { checkExtends } from './follow.js';
import { signRequest } from './httpsig.js';
import { subjectName } from './subject.js';

const wireOf = (e) => (e instanceof Event ? e.wire : typeof e === 'string' ? e : JSON.stringify(e));

/** A node's HTTP API. `url` like `http://127.0.0.1:7100`; `fetch` may be injected. */
/**
 * A submission's answer: `{id, state, index?, sameSourceAs?}`. `sameSourceAs` is set when the
 * node kept `id`, an earlier event of the issuer with the same `source` (PROTOCOL.md 8e), instead
 * of the event sent (whose id it is): a re-delivered feed event adds nothing.
 */
function answer(j) {
  return {
    id: j.id,
    state: j.status,
    ...(j.index !== undefined ? { index: j.index } : {}),
    ...(j.same_source_as !== undefined ? { sameSourceAs: j.same_source_as } : {}),
  };
}

export class NodeClient {
  /**
   * `keyPair`: a member organisation's key; every request is then signed (PROTOCOL.md 12), as a
   * node with `[api] read_access = "members"` or `"parties"` requires.
   */
  constructor(url, { fetch: f = globalThis.fetch, timeoutMs = 10000, keyPair } = {}) {
    this.url = url.replace(/\/+$/, '');
    this.fetch = f;
    this.timeoutMs = timeoutMs;
    this.keyPair = keyPair;
  }

  async #request(method, path, body) {
    let res;
    // Called detached, not as `this.fetch(...)`: a browser's `fetch` invoked on another object
    // than the window throws "Illegal invocation".
    const f = this.fetch;
    const url = `${this.url}${path}`;
    const headers = body === undefined ? {} : { 'content-type': 'application/json' };
    if (this.keyPair) Object.assign(headers, signRequest(this.keyPair, { method, url }));
    try {
      res = await f(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new NodeError('Unreachable', `node ${this.url} is unreachable: ${e.message}`, { status: 0, code: 'unreachable', err: e });
    }
    const text = await res.text();
    if (!res.ok) {
      let code = 'unknown';
      let message = text.slice(0, 500);
      try {
        const j = JSON.parse(text);
        if (j && j.error) ({ code, message } = j.error);
      } catch {
        // not JSON: keep the text
      }
      throw new NodeError('Refused', `node answered ${res.status} ${code}: ${message}`, { status: res.status, code, message });
    }
    return { status: res.status, text };
  }

  /** GET a path; resolves to the body text. */
  async getText(path) {
    return (await this.#request('GET', path)).text;
  }

  /** GET a path; resolves to the strictly parsed JSON. */
  async getJson(path) {
    return parseJson(await this.getText(path));
  }

  /**
   * Submits one signed event (an `Event`, its wire JSON, or a wire object). Resolves to
   * `{status, id, state, index?}` (`status` 202 for a new event, 200 for a known one); rejects
   * with `NodeError` (e.g. 422 `unknown_issuer`, 409 `membership_seq`).
   */
  async submit(event) {
    const r = await this.#request('POST', '/v1/events', wireOf(event));
    const j = JSON.parse(r.text);
    return { status: r.status, ...answer(j) };
  }

  /**
   * Submits events in one request; resolves to one result per event, in order:
   * `{id, state, index?}` or `{id?, error: {code, message}}` (each event is admitted or refused
   * on its own).
   */
  async submitBatch(events) {
    const r = await this.#request('POST', '/v1/events/batch', `[${events.map(wireOf).join(',')}]`);
    return JSON.parse(r.text).results.map((x) => (x.error ? x : answer(x)));
  }

  /** `GET /v1/events/{id}`: `{id, status, index?, event}` (unverified), or `NodeError` 404. */
  async event(id) {
    return JSON.parse(await this.getText(`/v1/events/${id}`));
  }

  /**
   * Polls until the event is committed (or `timeoutMs` passes, then rejects); resolves to the
   * status answer with its log `index`.
   */
  async waitCommitted(id, { timeoutMs = 30000, intervalMs = 200 } = {}) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        const s = await this.event(id);
        if (s.status === 'committed') return s;
      } catch (e) {
        if (!(e instanceof NodeError && e.status === 404)) throw e;
      }
      if (Date.now() > until) throw new NodeError('Timeout', `event ${id} not committed after ${timeoutMs} ms`, { status: 0, code: 'timeout' });
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /**
   * The consignment's route bundle text (`GET /v1/consignments/{ucr}/route`); with
   * `{containersFrom, height}` the page of a large route starting at that container, at that
   * head height (`NodeError` 409 `head_moved` once the height is no longer the latest).
   */
  routeText(ucr, { containersFrom, height } = {}) {
    const q = containersFrom === undefined ? '' : `?containers_from=${containersFrom}&height=${height}`;
    return this.getText(`/v1/consignments/${encodeURIComponent(ucr)}/route${q}`);
  }

  /** A trade identifier's route bundle text (`GET /v1/identifiers/{id}/route`: version 3, its group's). */
  identifierRouteText(id) {
    return this.getText(`/v1/identifiers/${encodeURIComponent(id)}/route`);
  }
}

/**
 * A light client: asks a node, trusts only the genesis, verifies every answer, and checks that
 * each certified head extends the last one it accepted (9c). Errors: `NodeError`, the
 * verifiers' errors (`RouteError`, `BundleError`, `MembershipError`, `CertificateError`), and
 * `FollowError`.
 */
export class LightClient {
  constructor(node, genesis) {
    this.node = typeof node === 'string' ? new NodeClient(node) : node;
    this.genesis = genesis;
    this.sets = new Map([[genesis.validators.hash(), genesis.validators]]);
    /** The last accepted `{head, certificate}`. */
    this.known = undefined;
  }

  async #accept(served) {
    if (this.known) await checkExtends(this.known, served, (a, b) => this.node.getJson(`/v1/consistency?first=${a}&second=${b}`));
    this.known = served;
    return served;
  }

  /** Fetches and verifies `GET /v1/membership`; returns the `History` and remembers its set. */
  async membership() {
    const j = await this.node.getJson('/v1/membership');
    let head, certificate, proof;
    try {
      head = parseHead(j.head);
      certificate = parseCertificate(j.certificate);
      proof = parseMembershipProof(j.membership, 'membership', Event);
    } catch (e) {
      if (e instanceof JsonError) throw new NodeError('Malformed', `node's membership is malformed: ${e.message}`, { status: 200, code: 'malformed' });
      throw e;
    }
    const history = verifyMembershipProof(proof, this.genesis, head, certificate);
    this.sets.set(history.validators.hash(), history.validators);
    await this.#accept({ head, certificate });
    return history;
  }

  /** The latest certified head, verified (`GET /v1/head`). */
  async head() {
    const j = await this.node.getJson('/v1/head');
    const head = parseHead(j.head);
    const certificate = parseCertificate(j.certificate);
    if (!this.sets.has(head.validators)) await this.membership();
    verifyCertificate(certificate, head, this.sets.get(head.validators) ?? this.genesis.validators);
    return this.#accept({ head, certificate });
  }

  /**
   * A consignment's verified route (`verifyRoute`'s result), its text (the route bundle's, or
   * for a route naming more than 256 containers a JSON array of its pages, PROTOCOL.md 9b) and
   * its parsed `pages` (`parseRoute`'s, one for a whole route: the inclusion proofs and block
   * entries as served), all fetched at the first page's head (fetched again from the first
   * page, up to 3 times in all, when the node answers 409 `head_moved` because its head moved
   * meanwhile). A consignment linked to trade identifiers (PROTOCOL.md 8f) is answered with its
   * group's route (version 3, one bundle), which must hold the consignment.
   */
  async route(ucr) {
    const TRIES = 3;
    let texts, pages;
    for (let attempt = 1; ; attempt++) {
      const text = await this.node.routeText(ucr);
      const first = parseRoute(text);
      if (Array.isArray(first)) throw new NodeError('Malformed', 'the node answered a list of route pages where one page was asked for', { status: 200, code: 'malformed' });
      if (first.version === BigInt(ROUTE_GROUP_VERSION)) {
        texts = [text];
        pages = [first];
        break;
      }
      const got = first.consignment.subject;
      if (got.type !== 'consignment' || got.id !== ucr) throw new NodeError('WrongSubject', `asked for consignment ${ucr}, the node answered about ${subjectName(got)}`, { status: 200, code: 'wrong_subject' });
      // How many pages the (not yet verified) consignment bundle calls for; verifyRoute refuses
      // any other count.
      const named = containersNamed(first.consignment.events.map((pe) => pe.event)).length;
      const needed = first.version === BigInt(ROUTE_PAGE_VERSION) ? Math.min(Math.max(1, Math.ceil(named / MAX_ROUTE_CONTAINERS)), MAX_ROUTE_PAGES) : 1;
      const height = first.consignment.head.height;
      texts = [text];
      pages = [first];
      try {
        for (let i = 1; i < needed; i++) {
          const t = await this.node.routeText(ucr, { containersFrom: i * MAX_ROUTE_CONTAINERS, height });
          texts.push(t);
          pages.push(parseRoute(t));
        }
      } catch (e) {
        if (e instanceof NodeError && e.status === 409 && attempt < TRIES) continue;
        throw e;
      }
      break;
    }
    const route = this.#asked(() => verifyRoute(this.genesis, pages, { type: 'consignment', id: ucr }));
    await this.#accept({ head: route.head, certificate: route.certificate });
    return { route, text: texts.length === 1 ? texts[0] : `[${texts.join(',')}]`, pages };
  }

  /**
   * A trade identifier's verified route (`GET /v1/identifiers/{id}/route`, PROTOCOL.md 9b
   * version 3: its group's, which must hold the identifier), with its text and parsed page.
   */
  async identifierRoute(id) {
    const text = await this.node.identifierRouteText(id);
    const page = parseRoute(text);
    if (Array.isArray(page) || page.version !== BigInt(ROUTE_GROUP_VERSION)) {
      throw new NodeError('Malformed', `the node answered an identifier's route with ${Array.isArray(page) ? 'a list of pages' : `version ${page.version}`}, not a version-3 route bundle`, { status: 200, code: 'malformed' });
    }
    const route = this.#asked(() => verifyRoute(this.genesis, [page], { type: 'identifier', id }));
    await this.#accept({ head: route.head, certificate: route.certificate });
    return { route, text, pages: [page] };
  }

  /** Runs a route verification, answering a route about another subject as `NodeError` `WrongSubject`. */
  #asked(verify) {
    try {
      return verify();
    } catch (e) {
      if (e.name === 'RouteError' && e.variant === 'WrongSubject') throw new NodeError('WrongSubject', e.message, { status: 200, code: 'wrong_subject' });
      throw e;
    }
  }

  /** A consignment's or container's verified proof bundle (`GET /v1/consignments/{ucr}`, `/v1/containers/{id}`). */
  async bundle(type, id) {
    const text = await this.node.getText(`/v1/${type === 'container' ? 'containers' : 'consignments'}/${encodeURIComponent(id)}`);
    const p = verifyBundle(this.genesis, parseBundle(text));
    if (p.subject.type !== type || p.subject.id !== id) throw new NodeError('WrongSubject', `asked for ${type} ${id}, the node answered about ${p.subject.type} ${p.subject.id}`, { status: 200, code: 'wrong_subject' });
    await this.#accept({ head: p.head, certificate: p.certificate });
    return p;
  }
}
