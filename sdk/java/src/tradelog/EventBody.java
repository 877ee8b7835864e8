package tradelog;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds an event body (PROTOCOL.md 3.2) as a JSON map, omitting absent optional members, and
 * checks the structural rules before signing (the node checks them again and names the field
 * it refuses).
 *
 * <pre>{@code
 * Map<String, Object> body = EventBody.of("tradelog-devnet", "arrived", timeMs)
 *     .ucr("9GB123456789012-INV0001").location("NLRTM")
 *     .issuer("blue-anchor-lines", key.publicKeyHex()).build();
 * }</pre>
 */
public final class EventBody {
    /** Event kinds (PROTOCOL.md 3.4). */
    public static final List<String> KINDS = List.of("booked", "declared", "loaded", "departed", "arrived", "discharged",
        "gate_in", "gate_out", "transshipped", "packed", "unpacked", "inspected", "held", "released", "seized", "delivered",
        "document_anchored", "retracted", "linked", "aeo_status", "mra", "advance_data", "risk_cleared",
        "risk_information_requested", "risk_referred", "risk_do_not_load", "membership");
    private static final List<String> NO_LOCATION = List.of("booked", "declared", "held", "released", "seized",
        "document_anchored", "retracted", "linked", "aeo_status", "mra", "advance_data", "risk_cleared",
        "risk_information_requested", "risk_referred", "risk_do_not_load", "membership");
    /** Most organisations one event names in {@code parties} (PROTOCOL.md 3.2, 8c). */
    public static final int MAX_PARTIES = 16;
    /** Most trade identifiers one event names in {@code ids} (PROTOCOL.md 3.2, 10). */
    public static final int MAX_IDS = 16;
    private static final String ORG_ID = "[a-z][a-z0-9-]{0,62}[a-z0-9]";

    private final Map<String, Object> body = new LinkedHashMap<>();
    private final List<Object> refs = new ArrayList<>();
    private final List<Object> documents = new ArrayList<>();
    private final Map<String, Object> details = new LinkedHashMap<>();

    private EventBody(String chain, String kind, long timeMs) {
        body.put("v", 1L);
        body.put("chain", chain);
        body.put("kind", kind);
        body.put("time", timeMs);
        body.put("refs", refs);
        body.put("documents", documents);
        body.put("details", details);
    }

    /** A body for {@code chain}, of {@code kind}, at {@code timeMs} (milliseconds since 1970). */
    public static EventBody of(String chain, String kind, long timeMs) {
        return new EventBody(chain, kind, timeMs);
    }

    public EventBody ucr(String ucr) {
        body.put("ucr", ucr);
        return this;
    }

    public EventBody container(String container) {
        body.put("container", container);
        return this;
    }

    public EventBody location(String unLocode) {
        body.put("location", unLocode);
        return this;
    }

    /**
     * The local time offset where the event happened, as its source gave it (PROTOCOL.md 3.2):
     * {@code +HH:MM} or {@code -HH:MM}, at most {@code 14:00} either way, {@code +00:00} (never
     * {@code -00:00}) for UTC. Informational: {@code time} is always UTC. Not in a membership
     * event; {@link #build} refuses another shape.
     */
    public EventBody offset(String offset) {
        body.put("offset", offset);
        return this;
    }

    /**
     * The minutes east of UTC of a {@code +HH:MM}/{@code -HH:MM} offset (PROTOCOL.md 3.2), or
     * null if it breaks the rule (that exact shape, MM 00-59, at most 14:00, no {@code -00:00}).
     */
    public static Integer offsetMinutes(String o) {
        if (o == null || !o.matches("[+-][0-9]{2}:[0-5][0-9]")) return null;
        int m = Integer.parseInt(o.substring(1, 3)) * 60 + Integer.parseInt(o.substring(4, 6));
        if (m > 14 * 60 || (o.charAt(0) == '-' && m == 0)) return null;
        return o.charAt(0) == '-' ? -m : m;
    }

    /** Means of transport: mode ({@code sea}, {@code air}, ...), means and voyage (or null). */
    public EventBody transport(String mode, String means, String voyage) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("mode", mode);
        t.put("means", means);
        if (voyage != null) t.put("voyage", voyage);
        body.put("transport", t);
        return this;
    }

    /** An earlier event this one follows from (its id, hex). */
    public EventBody ref(String eventId) {
        refs.add(eventId);
        return this;
    }

    /** A document anchored by its hash: kind ({@code bill_of_lading}), alg ({@code sha256} or {@code blake3}), digest hex. */
    public EventBody document(String kind, String alg, String digestHex) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("kind", kind);
        d.put("alg", alg);
        d.put("digest", digestHex);
        documents.add(d);
        return this;
    }

    /** Detail commitments (from {@link Details#commitAll}). */
    public EventBody details(Map<String, Object> commitments) {
        details.putAll(commitments);
        return this;
    }

    public EventBody issuer(String org, String publicKeyHex) {
        Map<String, Object> i = new LinkedHashMap<>();
        i.put("org", org);
        i.put("key", publicKeyHex);
        body.put("issuer", i);
        return this;
    }

    /**
     * Organisations this event makes parties of its consignment (PROTOCOL.md 8c; only with a
     * ucr, on a ledger whose genesis has {@code "rules": 2}): 1 to 16 member ids in ascending
     * order, each once. Not sorted for you: the order is part of what is signed, and
     * {@link #build} refuses another.
     */
    public EventBody parties(String... orgs) {
        body.put("parties", new ArrayList<Object>(Arrays.asList(orgs)));
        return this;
    }

    /**
     * Where an imported event came from (PROTOCOL.md 3.2, 8e): the standard ({@code dcsa},
     * {@code epcis}) and the source's event id. The ledger records one source event once per
     * issuer, consignment and container, so a re-delivered feed event adds nothing.
     */
    public EventBody source(String standard, String id) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("standard", standard);
        s.put("id", id);
        body.put("source", s);
        return this;
    }

    /**
     * The event a {@code retracted} event retracts (PROTOCOL.md 3.2, 8g), by its id (64 lowercase
     * hex): an earlier event of the same issuer with the same ucr, container and ids. Required for
     * kind {@code retracted}, refused for any other.
     */
    public EventBody retractsEvent(String idHex) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("event", idHex);
        body.put("retracts", r);
        return this;
    }

    /**
     * The event a {@code retracted} event retracts (PROTOCOL.md 3.2, 8g), by its source: the
     * issuer's earlier event with that source and the same ucr, container and ids (its 8e source
     * key), so an importer retracts a feed event knowing only the feed's event id.
     */
    public EventBody retractsSource(String standard, String id) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("standard", standard);
        s.put("id", id);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("source", s);
        body.put("retracts", r);
        return this;
    }

    /**
     * The trade identifiers the event concerns (PROTOCOL.md 2, 8f): {@code bl:<carrier>:<number>}
     * (a transport document, {@link #transportDocument}), {@code bkg:<carrier>:<number>} (a
     * booking, {@link #booking}), {@code sscc:<18 digits>} ({@link #sscc}); {@code <carrier>} is
     * the carrier's organisation id. 1 to 16, given in any order: they are <b>sorted for you</b>
     * into the ascending byte order the signed body needs (a repeat stays, and {@link #build}
     * refuses it). A {@code linked} event names at least two subjects among ucr and ids.
     */
    public EventBody ids(String... ids) {
        List<Object> list = new ArrayList<>(Arrays.asList((Object[]) ids));
        boolean strings = true;
        for (Object t : list) strings &= t instanceof String;
        // String order is UTF-16 code unit order: byte order for these ASCII identifiers.
        if (strings) list.sort((a, c) -> ((String) a).compareTo((String) c));
        body.put("ids", list);
        return this;
    }

    /** {@code bl:<carrier>:<number>}, checked: a bill of lading or sea waybill of {@code carrier} (its organisation id). */
    public static String transportDocument(String carrier, String number) {
        return checkTradeId("bl:" + carrier + ":" + number);
    }

    /** {@code bkg:<carrier>:<number>}, checked: a carrier booking reference. */
    public static String booking(String carrier, String number) {
        return checkTradeId("bkg:" + carrier + ":" + number);
    }

    /** {@code sscc:<18 digits>}, checked: 17 digits get their GS1 check digit appended; 18 must end with it. */
    public static String sscc(String digits) {
        if (digits != null && digits.matches("[0-9]{17}")) digits = digits + gs1CheckDigit(digits);
        return checkTradeId("sscc:" + digits);
    }

    /** The GS1 check digit of the first 17 digits of an SSCC: weights 3, 1, 3, ... from the rightmost. */
    public static int gs1CheckDigit(String first17) {
        int sum = 0;
        for (int i = 0; i < first17.length(); i++) sum += (first17.charAt(first17.length() - 1 - i) - '0') * (i % 2 == 0 ? 3 : 1);
        return (10 - sum % 10) % 10;
    }

    /**
     * Checks a trade identifier (PROTOCOL.md 2; never normalised: a lowercase number or a wrong
     * SSCC check digit is refused) and returns it; IllegalArgumentException naming {@code body.ids}.
     */
    public static String checkTradeId(String s) {
        String[] p = s == null ? new String[] {""} : s.split(":", -1);
        boolean ok;
        if (p[0].equals("bl") || p[0].equals("bkg")) ok = p.length == 3 && p[1].matches(ORG_ID) && p[2].matches("[A-Z0-9./-]{1,35}");
        else if (p[0].equals("sscc")) ok = p.length == 2 && p[1].matches("[0-9]{18}") && p[1].charAt(17) - '0' == gs1CheckDigit(p[1].substring(0, 17));
        else ok = false;
        if (!ok) fail("ids", "not a trade identifier (bl:<carrier>:<number>, bkg:<carrier>:<number>, sscc:<18 digits>): " + s);
        return s;
    }

    /**
     * The {@code aeo} member of an {@code aeo_status} event (PROTOCOL.md 8h; from
     * {@link Aeo#record}): the authorisation state a customs administration records. Required for
     * that kind, refused for any other; such an event names no ucr, container, ids, location,
     * offset, transport, parties or source.
     */
    public EventBody aeo(Map<String, Object> record) {
        body.put("aeo", record);
        return this;
    }

    /**
     * The {@code mra} member of an {@code mra} event (PROTOCOL.md 8h; from {@link Aeo#inForce},
     * with the partner's {@link Aeo#countersign}, or {@link Aeo#terminated}). Required for that
     * kind, refused for any other.
     */
    public EventBody mra(Map<String, Object> arrangement) {
        body.put("mra", arrangement);
        return this;
    }

    /**
     * The reason code of a risk outcome (PROTOCOL.md 8i; {@code [a-z0-9_]{1,32}}): required for
     * the four {@code risk_*} kinds, refused for any other. An outcome also needs a ucr and a ref
     * to the {@code advance_data} event it assesses.
     */
    public EventBody reason(String reason) {
        body.put("reason", reason);
        return this;
    }

    /** The {@code membership} member of a membership event (from {@link Membership#body}). */
    public EventBody membership(Map<String, Object> membership) {
        body.put("membership", membership);
        return this;
    }

    /** The checked body. */
    public Map<String, Object> build() {
        check(body);
        return body;
    }

    /** The structural rules of PROTOCOL.md 3.2 (IllegalArgumentException naming the field). */
    public static void check(Map<String, Object> b) {
        String kind = (String) b.get("kind");
        if (!KINDS.contains(kind)) fail("kind", "unknown kind " + kind);
        if (!(b.get("chain") instanceof String) || !((String) b.get("chain")).matches("[a-z0-9-]{1,64}")) fail("chain", "must be 1-64 characters of a-z, 0-9, '-'");
        if (!b.containsKey("issuer")) fail("issuer", "required");
        @SuppressWarnings("unchecked")
        Map<String, Object> issuer = (Map<String, Object>) b.get("issuer");
        if (!String.valueOf(issuer.get("org")).matches(ORG_ID)) fail("issuer.org", "not an organisation id");
        hex(issuer.get("key"), 32, "issuer.key");
        boolean membership = kind.equals("membership");
        if (membership != b.containsKey("membership")) fail("membership", membership ? "required for kind membership" : "only allowed for kind membership");
        if (membership && (b.containsKey("ucr") || b.containsKey("container") || b.containsKey("location") || b.containsKey("transport"))) {
            fail("ucr", "a membership event names no consignment, container, location or transport");
        }
        if (membership && b.containsKey("ids")) fail("ids", "a membership event names no trade identifiers");
        boolean record = kind.equals("aeo_status") || kind.equals("mra");
        if (record && !membership) checkOrganisationRecord(b, kind);
        if (!membership && !record && !b.containsKey("ucr") && !b.containsKey("container") && !b.containsKey("ids")) fail("ucr", "an event needs a ucr, a container or ids (at least one)");
        if (b.containsKey("ids")) {
            if (!(b.get("ids") instanceof List)) fail("ids", "expected an array of trade identifiers");
            List<?> ids = (List<?>) b.get("ids");
            for (Object t : ids) {
                if (!(t instanceof String)) fail("ids", "not a trade identifier: " + t);
                checkTradeId((String) t);
            }
            if (ids.isEmpty() || ids.size() > MAX_IDS) fail("ids", "1 to " + MAX_IDS + " trade identifiers");
            for (int i = 1; i < ids.size(); i++) {
                if (((String) ids.get(i - 1)).compareTo((String) ids.get(i)) >= 0) fail("ids", "trade identifiers must be in ascending byte order, each once");
            }
        }
        if (kind.equals("linked")) {
            if (b.containsKey("container")) fail("container", "a linked event names no container");
            int subjects = (b.containsKey("ucr") ? 1 : 0) + (b.get("ids") instanceof List ? ((List<?>) b.get("ids")).size() : 0);
            if (subjects < 2) fail("ids", "a linked event names at least two subjects among ucr and ids");
        }
        if ((kind.equals("packed") || kind.equals("unpacked")) && !((b.containsKey("ucr") || b.containsKey("ids")) && b.containsKey("container"))) fail("ucr", "required (or ids) with container for kind " + kind);
        if (!NO_LOCATION.contains(kind) && !b.containsKey("location")) fail("location", "required for kind " + kind);
        if (b.containsKey("ucr")) checkUcr((String) b.get("ucr"));
        if (b.containsKey("container")) checkContainer((String) b.get("container"));
        if (b.containsKey("location") && !((String) b.get("location")).matches("[A-Z]{2}[A-Z2-9]{3}")) fail("location", "not a UN/LOCODE");
        long time = ((Number) b.get("time")).longValue();
        if (time < 1 || time > Jcs.MAX_SAFE_INTEGER) fail("time", "must be milliseconds since 1970 in 1..=2^53-1");
        if (b.containsKey("offset")) {
            if (membership) fail("offset", "a membership event has no offset");
            Object o = b.get("offset");
            if (!(o instanceof String) || offsetMinutes((String) o) == null) {
                fail("offset", (o instanceof String ? Jcs.canonicalize(o) : String.valueOf(o)) + " must be +HH:MM or -HH:MM within 14:00, +00:00 for UTC");
            }
        }
        if (b.containsKey("transport")) {
            Map<?, ?> t = (Map<?, ?>) b.get("transport");
            if (!Arrays.asList("sea", "air", "road", "rail", "inland_waterway").contains(t.get("mode"))) fail("transport.mode", "unknown mode");
            if (!String.valueOf(t.get("means")).matches("[A-Z0-9./-]{1,35}")) fail("transport.means", "must be 1-35 characters of A-Z, 0-9, '-', '.', '/'");
            if (t.containsKey("voyage") && !String.valueOf(t.get("voyage")).matches("[A-Z0-9./-]{1,35}")) fail("transport.voyage", "must be 1-35 characters of A-Z, 0-9, '-', '.', '/'");
        }
        if (b.containsKey("parties")) {
            if (!(b.get("parties") instanceof List)) fail("parties", "expected an array of organisation ids");
            List<?> parties = (List<?>) b.get("parties");
            for (Object p : parties) if (!(p instanceof String) || !((String) p).matches(ORG_ID)) fail("parties", "not an organisation id: " + p);
            if (!b.containsKey("ucr")) fail("parties", "only allowed with a ucr");
            if (parties.isEmpty() || parties.size() > MAX_PARTIES) fail("parties", "1 to " + MAX_PARTIES + " organisations");
            // Organisation ids are ASCII: String order is the reference's byte order.
            for (int i = 1; i < parties.size(); i++) {
                if (((String) parties.get(i - 1)).compareTo((String) parties.get(i)) >= 0) fail("parties", "organisations must be in ascending order, each once");
            }
        }
        if (b.containsKey("source")) {
            if (membership) fail("source", "a membership event has no source");
            checkSource(b.get("source"), "source");
        }
        boolean retracted = kind.equals("retracted");
        if (retracted != b.containsKey("retracts")) fail("retracts", retracted ? "required for kind retracted" : "only allowed for kind retracted, not " + kind);
        if (retracted) {
            if (!(b.get("retracts") instanceof Map)) fail("retracts", "expected an object {event} or {source}");
            Map<?, ?> r = (Map<?, ?>) b.get("retracts");
            for (Object k : r.keySet()) if (!"event".equals(k) && !"source".equals(k)) fail("retracts", "unknown member " + k);
            if (r.size() != 1) fail("retracts", "exactly one member, event or source, expected");
            if (r.containsKey("event")) hex(r.get("event"), 32, "retracts.event");
            else checkSource(r.get("source"), "retracts.source");
        }
        List<?> refs = (List<?>) b.get("refs");
        if (refs.size() > 16) fail("refs", "at most 16 references");
        if (new HashSet<>(refs).size() != refs.size()) fail("refs", "an event is referenced twice");
        for (Object r : refs) hex(r, 32, "refs");
        List<?> docs = (List<?>) b.get("documents");
        if (docs.size() > 16) fail("documents", "at most 16 documents");
        if (kind.equals("document_anchored") && docs.isEmpty()) fail("documents", "document_anchored needs at least one document");
        for (Object o : docs) {
            Map<?, ?> d = (Map<?, ?>) o;
            if (!String.valueOf(d.get("kind")).matches("[a-z0-9_]{1,32}")) fail("documents.kind", "must be 1-32 characters of a-z, 0-9, '_'");
            if (!Arrays.asList("sha256", "blake3").contains(d.get("alg"))) fail("documents.alg", "sha256 or blake3");
            hex(d.get("digest"), 32, "documents.digest");
        }
        Map<?, ?> det = (Map<?, ?>) b.get("details");
        if (det.size() > 32) fail("details", "at most 32 fields");
        for (Map.Entry<?, ?> e : det.entrySet()) {
            if (!String.valueOf(e.getKey()).matches("[a-z0-9_]{1,64}")) fail("details", "field name " + e.getKey() + " must be 1-64 characters of a-z, 0-9, '_'");
            hex(e.getValue(), 32, "details." + e.getKey());
        }
        if (b.containsKey("aeo") && !kind.equals("aeo_status")) fail("aeo", "only allowed for kind aeo_status");
        if (b.containsKey("mra") && !kind.equals("mra")) fail("mra", "only allowed for kind mra");
        boolean outcome = Aeo.RISK_OUTCOMES.contains(kind);
        if (outcome && !b.containsKey("reason")) fail("reason", "required for kind " + kind);
        if (!outcome && b.containsKey("reason")) fail("reason", "only allowed for the risk outcome kinds");
        if (outcome && !(b.get("reason") instanceof String && ((String) b.get("reason")).matches("[a-z0-9_]{1,32}"))) {
            Object r = b.get("reason");
            fail("reason", (r instanceof String ? Jcs.canonicalize(r) : String.valueOf(r)) + " must be 1-32 characters of a-z, 0-9, '_'");
        }
        if ((outcome || kind.equals("advance_data")) && !b.containsKey("ucr")) fail("ucr", "required for kind " + kind);
        if (outcome && refs.isEmpty()) fail("refs", "a risk outcome refers to the advance_data event it assesses");
        if (kind.equals("advance_data")) {
            for (String f : Aeo.ADVANCE_FIELDS) {
                if (!det.containsKey(f)) fail("details", "advance_data commits to " + String.join(", ", Aeo.ADVANCE_FIELDS) + ": \"" + f + "\" is missing");
            }
        }
    }

    /** The rules of an {@code aeo_status} or {@code mra} body (PROTOCOL.md 3.2, 8h): its member, and nothing about goods. */
    private static void checkOrganisationRecord(Map<String, Object> b, String kind) {
        if (b.containsKey("ucr") || b.containsKey("container") || b.containsKey("ids")) fail("ucr", "a " + kind + " event names no consignment, container or trade identifier");
        if (b.containsKey("location") || b.containsKey("transport") || b.containsKey("offset")) fail("location", "a " + kind + " event has no location, offset or transport");
        if (b.containsKey("parties") || b.containsKey("source")) fail("parties", "a " + kind + " event has no parties or source");
        String member = kind.equals("aeo_status") ? "aeo" : "mra";
        if (!b.containsKey(member)) fail(member, "required for kind " + kind);
        if (!(b.get(member) instanceof Map)) fail(member, "expected an object");
        Map<?, ?> m = (Map<?, ?>) b.get(member);
        if (member.equals("aeo")) checkAeo(m);
        else checkMra(m);
    }

    /** The {@code aeo} member (8h): types exactly when granted, until only when granted and after from. */
    private static void checkAeo(Map<?, ?> a) {
        members(a, "aeo", List.of("holder", "programme", "authorisation", "status", "from"), List.of("types", "until"));
        if (!(a.get("holder") instanceof String) || !((String) a.get("holder")).matches(ORG_ID)) fail("aeo.holder", "not an organisation id");
        if (!(a.get("programme") instanceof String) || !((String) a.get("programme")).matches("[a-z0-9_]{1,32}")) fail("aeo.programme", "1-32 characters of a-z, 0-9, '_'");
        if (!(a.get("authorisation") instanceof String) || !((String) a.get("authorisation")).matches("[A-Z0-9./-]{1,35}")) fail("aeo.authorisation", "1-35 characters of A-Z, 0-9, '-', '.', '/'");
        Object status = a.get("status");
        if (!List.of("granted", "suspended", "revoked").contains(status)) fail("aeo.status", "granted, suspended or revoked");
        long from = ms(a.get("from"), "aeo.from");
        if ("granted".equals(status)) {
            if (!a.containsKey("types")) fail("aeo.types", "required when granted");
            checkTypes(a.get("types"), "aeo.types");
            if (a.containsKey("until") && ms(a.get("until"), "aeo.until") <= from) fail("aeo.until", "after from, at most 2^53-1");
        } else {
            if (a.containsKey("types")) fail("aeo.types", "only when granted");
            if (a.containsKey("until")) fail("aeo.until", "only when granted");
        }
    }

    /** The {@code mra} member (8h): types and the partner's countersignature exactly when in force. */
    private static void checkMra(Map<?, ?> m) {
        members(m, "mra", List.of("partner", "status", "from"), List.of("types", "approval"));
        if (!(m.get("partner") instanceof String) || !((String) m.get("partner")).matches(ORG_ID)) fail("mra.partner", "not an organisation id");
        Object status = m.get("status");
        if (!List.of("in_force", "terminated").contains(status)) fail("mra.status", "in_force or terminated");
        ms(m.get("from"), "mra.from");
        if ("in_force".equals(status)) {
            if (!m.containsKey("types")) fail("mra.types", "required when in force");
            if (!m.containsKey("approval")) fail("mra.approval", "an arrangement in force needs the partner administration's countersignature");
            checkTypes(m.get("types"), "mra.types");
            if (!(m.get("approval") instanceof Map)) fail("mra.approval", "expected an object {key, sig}");
            Map<?, ?> a = (Map<?, ?>) m.get("approval");
            members(a, "mra.approval", List.of("key", "sig"), List.of());
            hex(a.get("key"), 32, "mra.approval.key");
            hex(a.get("sig"), 64, "mra.approval.sig");
        } else {
            if (m.containsKey("types")) fail("mra.types", "only when in force");
            if (m.containsKey("approval")) fail("mra.approval", "a termination is one administration's notice: no countersignature");
        }
    }

    /** 1 or 2 of {@link Aeo#TYPES}, ascending, each once. */
    private static void checkTypes(Object v, String field) {
        if (!(v instanceof List)) fail(field, "expected an array");
        List<?> t = (List<?>) v;
        for (Object x : t) if (!Aeo.TYPES.contains(x)) fail(field, "unknown type " + x);
        if (t.isEmpty() || t.size() > 2 || (t.size() == 2 && Aeo.TYPES.indexOf(t.get(0)) >= Aeo.TYPES.indexOf(t.get(1)))) fail(field, "1 or 2 types, ascending, each once");
    }

    /** Milliseconds since 1970 in 0..=2^53-1. */
    private static long ms(Object v, String field) {
        if (!(v instanceof Long || v instanceof Integer) || ((Number) v).longValue() < 0 || ((Number) v).longValue() > Jcs.MAX_SAFE_INTEGER) fail(field, "ms since 1970 in 0..=2^53-1");
        return ((Number) v).longValue();
    }

    /** Exactly the {@code required} members and any of the {@code optional} ones, none null. */
    private static void members(Map<?, ?> m, String field, List<String> required, List<String> optional) {
        for (Object k : m.keySet()) if (!required.contains(k) && !optional.contains(k)) fail(field, "unknown member " + k);
        for (String k : required) if (!m.containsKey(k)) fail(field, "missing member " + k);
        for (Map.Entry<?, ?> e : m.entrySet()) if (e.getValue() == null) fail(field + "." + e.getKey(), "null is refused: omit the member instead");
    }

    /** A {@code {standard, id}} object (the {@code source} member, and the source form of {@code retracts}). */
    private static void checkSource(Object v, String field) {
        if (!(v instanceof Map)) fail(field, "expected an object {standard, id}");
        Map<?, ?> src = (Map<?, ?>) v;
        for (Object k : src.keySet()) if (!"standard".equals(k) && !"id".equals(k)) fail(field, "unknown member " + k);
        if (!(src.get("standard") instanceof String) || !((String) src.get("standard")).matches("[a-z0-9_]{1,32}")) fail(field + ".standard", "must be 1-32 characters of a-z, 0-9, '_'");
        if (!(src.get("id") instanceof String) || !((String) src.get("id")).matches("[!-~]{1,256}")) fail(field + ".id", "must be 1-256 characters of printable ASCII ('!' to '~')");
    }

    private static void checkUcr(String s) {
        if (!s.matches("[0-9][A-Z]{2}[A-Z0-9-]{1,32}") || s.charAt(3) == '-' || s.endsWith("-")) fail("ucr", "not a WCO UCR: " + s);
    }

    /** Checks an ISO 6346 container number, including its check digit. */
    static void checkContainer(String s) {
        if (!s.matches("[A-Z]{3}[UJZ][0-9]{7}")) fail("container", "not an ISO 6346 container number: " + s);
        if (s.charAt(10) - '0' != checkDigit(s.substring(0, 10))) fail("container", "check digit of " + s + " is wrong");
    }

    /** The ISO 6346 check digit of the first 10 characters. */
    public static int checkDigit(String first10) {
        int sum = 0;
        for (int i = 0; i < 10; i++) {
            char c = first10.charAt(i);
            int v = Character.isDigit(c) ? c - '0' : 10 + (c - 'A');
            if (!Character.isDigit(c)) v += (v - 1) / 10;
            sum += v << i;
        }
        return (sum % 11) % 10;
    }

    private static void hex(Object v, int n, String field) {
        if (!(v instanceof String) || !((String) v).matches("[0-9a-f]{" + 2 * n + "}")) fail(field, "expected " + 2 * n + " lowercase hex characters");
    }

    private static void fail(String field, String reason) {
        throw new IllegalArgumentException("body." + field + ": " + reason);
    }
}
