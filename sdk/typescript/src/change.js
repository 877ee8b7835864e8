// Membership change objects (PROTOCOL.md 8a) and organisations (8): reading, checking and their
// canonical JSON shape (a `set_validators` list is sorted by key wherever it is canonicalized).
import * as S from './schema.js';
import { checkOrgId } from './ids.js';
import { parseValidatorSet, ValidatorSet } from './head.js';
import { JsonError } from './errors.js';

export const ROLES = ['customs', 'carrier', 'platform', 'auditor'];
/** Most keys of one organisation. */
export const MAX_KEYS_PER_ORG = 16;
export const CHANGE_TYPES = ['add_key', 'revoke_key', 'add_organisation', 'set_validators'];

/** Reads an organisation `{id, name, role, keys}` (the rules of `check` are separate). */
export function parseOrganisation(v, path) {
  S.object(v, path, ['id', 'name', 'role', 'keys']);
  return {
    id: S.id(v.id, `${path}.id`, checkOrgId),
    name: S.string(v.name, `${path}.name`),
    role: S.oneOf(v.role, `${path}.role`, ROLES),
    keys: S.array(v.keys, `${path}.keys`).map((k, i) => S.publicKey(k, `${path}.keys[${i}]`)),
  };
}

/**
 * Name of 1-128 Unicode scalar values, none a control character (U+0000-U+001F, U+007F-U+009F)
 * or bidirectional embedding, override or isolate (U+202A-U+202E, U+2066-U+2069),
 * 1-16 keys; returns `[field, reason]` or `undefined`.
 */
export function checkOrganisation(o) {
  const chars = [...o.name];
  if (chars.length === 0 || chars.length > 128) return ['name', '1-128 characters'];
  const refused = (u) => u <= 0x1f || (u >= 0x7f && u <= 0x9f) || (u >= 0x202a && u <= 0x202e) || (u >= 0x2066 && u <= 0x2069);
  const control = chars.map((c) => c.codePointAt(0)).find(refused);
  if (control !== undefined) return ['name', `control character U+${control.toString(16).toUpperCase().padStart(4, '0')} is not allowed`];
  if (o.keys.length === 0 || o.keys.length > MAX_KEYS_PER_ORG) return ['keys', `1-${MAX_KEYS_PER_ORG} keys`];
  return undefined;
}

/**
 * Reads a change object; returns its normalized form, where a `set_validators` change carries
 * `validators` as a `ValidatorSet`. A validator-set rule failure is malformed input, as in Rust.
 */
export function parseChange(v, path) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) S.fail(path, 'expected an object');
  const type = S.oneOf(v.type, `${path}.type`, CHANGE_TYPES);
  switch (type) {
    case 'add_key':
    case 'revoke_key':
      S.object(v, path, ['type', 'org', 'key']);
      return { type, org: S.id(v.org, `${path}.org`, checkOrgId), key: S.publicKey(v.key, `${path}.key`) };
    case 'add_organisation':
      S.object(v, path, ['type', 'organisation']);
      return { type, organisation: parseOrganisation(v.organisation, `${path}.organisation`) };
    default: {
      S.object(v, path, ['type', 'validators']);
      let set;
      try {
        set = parseValidatorSet(v.validators, `${path}.validators`);
      } catch (e) {
        if (e instanceof JsonError) throw e;
        S.fail(`${path}.validators`, e.message);
      }
      return { type, validators: set };
    }
  }
}

/** The JSON value of a (normalized) change whose JCS form is signed: validators sorted by key. */
export function changeJson(c) {
  switch (c.type) {
    case 'add_key':
    case 'revoke_key':
      return { type: c.type, org: c.org, key: c.key };
    case 'add_organisation':
      return { type: c.type, organisation: { id: c.organisation.id, name: c.organisation.name, role: c.organisation.role, keys: [...c.organisation.keys] } };
    default: {
      const set = c.validators instanceof ValidatorSet ? c.validators : new ValidatorSet(c.validators);
      return { type: c.type, validators: set.toJSON() };
    }
  }
}
