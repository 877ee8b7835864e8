// tradelog SDK: build, canonicalize (RFC 8785) and sign consignment events, submit them to a
// node, and verify events, proof bundles, route bundles, membership proofs, heads,
// certificates, consistency and index proofs from the genesis alone. See README.md.
export * from './src/errors.js';
export { toHex, fromHex, utf8Bytes, concat } from './src/bytes.js';
export { parseJson } from './src/json.js';
export { canonicalize, canonicalBytes } from './src/jcs.js';
export { H, D, ZERO_HEX } from './src/hash.js';
export { KeyPair, parsePublicKey, verifySignature, verifyZip215, publicKeyOf, signBytes, generateSeed } from './src/keys.js';
export {
  checkUcr, checkContainer, checkLocode, checkOrgId, isUcr, isContainer, isLocode, isOrgId, isChainId, iso6346CheckDigit,
  parseTradeId, checkTradeId, isTradeId, gs1CheckDigit, transportDocument, booking, sscc, CARRIER_SCHEMES,
} from './src/ids.js';
export {
  Event, buildBody, signEvent, parseBody, validateBody, canonicalBody, signingBytes, requiresLocation, linkedSubjects, retractsEvent, retractsSource,
  EVENT_DOMAIN, EVENT_KINDS, MAX_EVENT_JSON_BYTES, MAX_BODY_BYTES, MAX_MEMBERSHIP_BODY_BYTES, MAX_REFS, MAX_PARTIES, MAX_IDS, MAX_SOURCE_ID, MAX_DOCUMENTS, MAX_DETAILS,
} from './src/event.js';
export { sourceKey, firstSourceRepeat } from './src/sources.js';
export {
  parseAeo, parseMra, checkAeo, checkMra, mraTermsMessage, countersign, approvalVerifies, firstUnassessedOutcome,
  AEO_TYPES, AEO_STATUSES, MRA_STATUSES, MRA_DOMAIN, ORGANISATION_RECORD_KINDS, RISK_OUTCOME_KINDS, ADVANCE_FIELDS,
} from './src/aeo.js';
export { checkRetractions, retractionTarget, retractsText } from './src/retractions.js';
export { Register, RecognitionError, verifyOrganisationBundles, verifyOrganisationAnswer, MAX_ANSWER_BYTES } from './src/recognition.js';
export { commitDetail, commitDetails, freshSalt, parseDisclosure, verifyDisclosure, DETAIL_DOMAIN, MAX_DETAIL_VALUE } from './src/disclosure.js';
export { leafHash, nodeHash, emptyRoot, rootOf, verifyInclusion, verifyConsistency, MAX_PROOF_HASHES } from './src/merkle.js';
export { subjectKey, subjectName, parseSubject, entryOver, valueHash, parseIndexProof, verifyIndexProof, provesEntry, EMPTY_ENTRY } from './src/subject.js';
export {
  ValidatorSet, parseValidatorSet, parseHead, headBytes, headHash, parseCertificate, verifyCertificate,
  precommitMessage, prevoteMessage, proposalMessage, MAX_VALIDATORS,
} from './src/head.js';
export { Genesis, Membership, mayIssue, RULES, admitParty, foldParties, partiesApply } from './src/roles.js';
export { approvalMessage, approve, membershipBody, canonicalChange, checkChange, parseMembershipProof, verifyMembershipProof, History } from './src/membership.js';
export { parseBundle, verifyBundle, BUNDLE_VERSION, MIN_BUNDLE_VERSION, MAX_BUNDLE_BYTES, MAX_BUNDLE_EVENTS } from './src/bundle.js';
export {
  parseRoute, readRoutePages, readGroupRoute, verifyRoute, verifyGroupRoute, mergeTimeline, mergeGroupTimeline, containersNamed, timelineJson, routeRetracted,
  ROUTE_VERSION, ROUTE_PAGE_VERSION, ROUTE_GROUP_VERSION, MAX_ROUTE_CONTAINERS, MAX_ROUTE_PAGES, MAX_GROUP_SUBJECTS,
} from './src/route.js';
export { parseConsistency, checkExtends } from './src/follow.js';
export { NodeClient, LightClient } from './src/client.js';
export { signRequest, requestSignatureBase, REQUEST_SIGNATURE_TAG, REQUEST_SIGNATURE_COMPONENTS, MAX_SIGNATURE_VALIDITY_SECS } from './src/httpsig.js';
