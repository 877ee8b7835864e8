package tradelog;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Salted detail commitments (PROTOCOL.md 3.5): {@code body.details[name]} holds
 * {@code D("tradelog/detail/v1", salt || u32(len(name)) || name || u32(len(value)) || value)};
 * the issuer keeps each field's {@link Disclosure} to hand out selectively.
 */
public final class Details {
    /** Largest disclosed value, in bytes. */
    public static final int MAX_VALUE_BYTES = 4096;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Details() {}

    /** A revealed field: name, value and the hex salt of its commitment. */
    public record Disclosure(String name, String value, String salt) {
        /** Its JSON object {@code {"name", "value", "salt"}}. */
        public Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("value", value);
            m.put("salt", salt);
            return m;
        }

        /** True if it matches the commitment {@code commitmentHex}. */
        public boolean matches(String commitmentHex) {
            return commit(name, value, Hex.decode(salt, 16)).equals(commitmentHex);
        }
    }

    /** The commitments for the body ({@code details}) and the disclosures the issuer keeps. */
    public record Committed(Map<String, Object> details, Map<String, Disclosure> disclosures) {}

    /** The commitment (hex) to one field with a 16-byte salt. */
    public static String commit(String name, String value, byte[] salt) {
        if (salt.length != 16) throw new IllegalArgumentException("a detail salt is 16 bytes");
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        if (v.length > MAX_VALUE_BYTES) throw new IllegalArgumentException("value of " + name + " is longer than 4096 bytes");
        return Hex.encode(Blake3.hash("tradelog/detail/v1".getBytes(StandardCharsets.UTF_8), new byte[] {0}, salt,
            Hex.u32(n.length), n, Hex.u32(v.length), v));
    }

    /** Commits every field with a fresh random salt (a salt is never reused). */
    public static Committed commitAll(Map<String, String> fields) {
        Map<String, Object> details = new LinkedHashMap<>();
        Map<String, Disclosure> disclosures = new LinkedHashMap<>();
        for (Map.Entry<String, String> f : fields.entrySet()) {
            byte[] salt = new byte[16];
            RANDOM.nextBytes(salt);
            details.put(f.getKey(), commit(f.getKey(), f.getValue(), salt));
            disclosures.put(f.getKey(), new Disclosure(f.getKey(), f.getValue(), Hex.encode(salt)));
        }
        return new Committed(details, disclosures);
    }
}
