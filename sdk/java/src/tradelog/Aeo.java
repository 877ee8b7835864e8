package tradelog;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AEO status and mutual recognition (PROTOCOL.md 8h): the {@code aeo} member of an
 * {@code aeo_status} event, the {@code mra} member of an {@code mra} event, the terms both
 * administrations sign and the partner's countersignature; and the seven detail fields an
 * {@code advance_data} event commits to (8i). {@link EventBody#check} checks the members' rules;
 * whether the holder is a carrier or platform, the partner a customs administration and the
 * countersignature its current key's, only the node (or a verifier holding the membership) can
 * check.
 */
public final class Aeo {
    private Aeo() {}

    /** The authorisation types, in their ascending order (the EU's AEOC, AEOS). */
    public static final List<String> TYPES = List.of("customs_simplifications", "security_safety");
    /** Domain of the partner's countersignature of an arrangement's terms. */
    public static final String MRA_DOMAIN = "tradelog/mra/v1";
    /** The detail fields every {@code advance_data} event commits to (8i), in the order of the spec. */
    public static final List<String> ADVANCE_FIELDS = List.of("hs_code", "declared_value", "currency", "consignor_country",
        "consignee_country", "item_count", "gross_weight_kg");
    /** The four pre-arrival risk assessment outcomes (8i), each with a {@code reason}. */
    public static final List<String> RISK_OUTCOMES = List.of("risk_cleared", "risk_information_requested", "risk_referred", "risk_do_not_load");

    /**
     * The {@code aeo} member: {@code holder} (a carrier or platform member), {@code programme}
     * ({@code [a-z0-9_]{1,32}}), {@code authorisation} (1-35 of {@code A-Z 0-9 - . /}),
     * {@code status} ({@code granted}, {@code suspended}, {@code revoked}), {@code types} (exactly
     * when granted; may be null otherwise), {@code from} (ms since 1970) and {@code until}
     * (exclusive, only when granted; null for none).
     */
    public static Map<String, Object> record(String holder, String programme, String authorisation, String status, List<String> types, long from, Long until) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("holder", holder);
        r.put("programme", programme);
        r.put("authorisation", authorisation);
        r.put("status", status);
        if (types != null) r.put("types", new ArrayList<Object>(types));
        r.put("from", from);
        if (until != null) r.put("until", until);
        return r;
    }

    /** An arrangement in force with {@code partner} from {@code from} for {@code types}, with the partner's {@code approval} ({@link #countersign}). */
    public static Map<String, Object> inForce(String partner, long from, List<String> types, Map<String, Object> approval) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("partner", partner);
        m.put("status", "in_force");
        m.put("from", from);
        m.put("types", new ArrayList<Object>(types));
        m.put("approval", approval);
        return m;
    }

    /** One administration's termination of its arrangement with {@code partner} from {@code from} (no countersignature). */
    public static Map<String, Object> terminated(String partner, long from) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("partner", partner);
        m.put("status", "terminated");
        m.put("from", from);
        return m;
    }

    /** {@code "tradelog/mra/v1" || 0x00 || JCS({"chain", "from", "issuer", "partner", "types"})}: the terms both administrations sign. */
    public static byte[] termsMessage(String chain, String issuer, String partner, long from, List<String> types) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("chain", chain);
        t.put("from", from);
        t.put("issuer", issuer);
        t.put("partner", partner);
        t.put("types", new ArrayList<Object>(types));
        return Hex.concat(MRA_DOMAIN.getBytes(StandardCharsets.UTF_8), new byte[] {0}, Jcs.canonicalBytes(t));
    }

    /** The partner's countersignature {@code {"key", "sig"}} of the terms, with {@code partnerKey} (one of the partner's event keys). */
    public static Map<String, Object> countersign(String chain, String issuer, String partner, long from, List<String> types, SigningKey partnerKey) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("key", partnerKey.publicKeyHex());
        a.put("sig", Hex.encode(partnerKey.sign(termsMessage(chain, issuer, partner, from, types))));
        return a;
    }
}
