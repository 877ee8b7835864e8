package tradelog;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Membership changes (PROTOCOL.md 8a): validator approvals and the {@code membership} member of
 * a membership event. A {@code set_validators} list is canonicalized sorted by key, so the order
 * given changes neither the id, nor the signature, nor the approvals.
 */
public final class Membership {
    private Membership() {}

    /** {@code {"type": "add_key", "org", "key"}}. */
    public static Map<String, Object> addKey(String org, String keyHex) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("type", "add_key");
        c.put("org", org);
        c.put("key", keyHex);
        return c;
    }

    /** {@code {"type": "revoke_key", "org", "key"}}. */
    public static Map<String, Object> revokeKey(String org, String keyHex) {
        Map<String, Object> c = addKey(org, keyHex);
        c.put("type", "revoke_key");
        return c;
    }

    /** {@code "tradelog/membership/v1" || 0x00 || u8(len(chain)) || chain || u64(seq) || JCS(change)}. */
    public static byte[] approvalMessage(String chain, long seq, Map<String, Object> change) {
        byte[] c = chain.getBytes(StandardCharsets.UTF_8);
        return Hex.concat("tradelog/membership/v1".getBytes(StandardCharsets.UTF_8), new byte[] {0, (byte) c.length}, c,
            Hex.u64(seq), Jcs.canonicalBytes(sortValidators(change)));
    }

    /** {@code {"type": "set_validators", "validators": [...]}}: any order (canonicalized sorted by key). */
    public static Map<String, Object> setValidators(List<Map<String, Object>> validators) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("type", "set_validators");
        c.put("validators", new ArrayList<>(validators));
        return c;
    }

    /** A validator {@code {"org", "key", "power"}} of a set_validators change. */
    public static Map<String, Object> validator(String org, String keyHex, long power) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("org", org);
        v.put("key", keyHex);
        v.put("power", power);
        return v;
    }

    /** A validator's approval {@code {"validator", "sig"}}. */
    public static Map<String, Object> approve(String chain, long seq, Map<String, Object> change, SigningKey validator) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("validator", validator.publicKeyHex());
        a.put("sig", Hex.encode(validator.sign(approvalMessage(chain, seq, change))));
        return a;
    }

    /** The {@code membership} member {@code {"seq", "change", "approvals"}}. */
    public static Map<String, Object> body(long seq, Map<String, Object> change, List<Map<String, Object>> approvals) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq", seq);
        m.put("change", change);
        m.put("approvals", new ArrayList<>(approvals));
        return m;
    }

    /** {@code body} with a set_validators list sorted by key (what is canonicalized). */
    static Map<String, Object> canonicalForm(Map<String, Object> body) {
        if (!(body.get("membership") instanceof Map)) return body;
        @SuppressWarnings("unchecked")
        Map<String, Object> m = new LinkedHashMap<>((Map<String, Object>) body.get("membership"));
        @SuppressWarnings("unchecked")
        Map<String, Object> change = (Map<String, Object>) m.get("change");
        m.put("change", sortValidators(change));
        Map<String, Object> out = new LinkedHashMap<>(body);
        out.put("membership", m);
        return out;
    }

    private static Map<String, Object> sortValidators(Map<String, Object> change) {
        if (!"set_validators".equals(change.get("type"))) return change;
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> list = new ArrayList<>((List<Map<String, Object>>) change.get("validators"));
        list.sort((a, b) -> ((String) a.get("key")).compareTo((String) b.get("key")));
        Map<String, Object> out = new LinkedHashMap<>(change);
        out.put("validators", list);
        return out;
    }
}
