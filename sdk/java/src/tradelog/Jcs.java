package tradelog;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the JSON subset the protocol signs: objects
 * ({@code Map} with {@code String} keys), arrays ({@code Collection} or arrays of objects),
 * strings, booleans and integers within +/-(2^53-1) ({@code Long}, {@code Integer},
 * {@code BigInteger}). {@code null} and other numbers are refused, so every accepted value has
 * one canonical form that any RFC 8785 implementation reproduces.
 */
public final class Jcs {
    /** Largest integer a canonical document may hold. */
    public static final long MAX_SAFE_INTEGER = (1L << 53) - 1;

    private Jcs() {}

    /** The canonical JSON text of {@code value}. */
    public static String canonicalize(Object value) {
        StringBuilder out = new StringBuilder();
        write(value, out, "$");
        return out.toString();
    }

    /** UTF-8 bytes of {@link #canonicalize}. */
    public static byte[] canonicalBytes(Object value) {
        return canonicalize(value).getBytes(StandardCharsets.UTF_8);
    }

    private static void write(Object v, StringBuilder out, String path) {
        if (v == null) throw new IllegalArgumentException("null is not allowed at " + path + ": omit the field instead");
        if (v instanceof Boolean) {
            out.append(((Boolean) v) ? "true" : "false");
        } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof BigInteger) {
            BigInteger n = v instanceof BigInteger ? (BigInteger) v : BigInteger.valueOf(((Number) v).longValue());
            if (n.abs().compareTo(BigInteger.valueOf(MAX_SAFE_INTEGER)) > 0) {
                throw new IllegalArgumentException("number at " + path + " must be an integer within +/-(2^53-1)");
            }
            out.append(n.toString());
        } else if (v instanceof Number) {
            throw new IllegalArgumentException("number at " + path + " must be an integer within +/-(2^53-1)");
        } else if (v instanceof CharSequence) {
            string(v.toString(), out);
        } else if (v instanceof Map) {
            List<String> keys = new ArrayList<>();
            for (Object k : ((Map<?, ?>) v).keySet()) {
                if (!(k instanceof String)) throw new IllegalArgumentException("object member names are strings at " + path);
                keys.add((String) k);
            }
            // RFC 8785 3.2.3: sorted by UTF-16 code units, which is String.compareTo.
            keys.sort(String::compareTo);
            out.append('{');
            for (int i = 0; i < keys.size(); i++) {
                if (i > 0) out.append(',');
                string(keys.get(i), out);
                out.append(':');
                write(((Map<?, ?>) v).get(keys.get(i)), out, path + "." + keys.get(i));
            }
            out.append('}');
        } else if (v instanceof Collection || v instanceof Object[]) {
            Object[] items = v instanceof Collection ? ((Collection<?>) v).toArray() : (Object[]) v;
            out.append('[');
            for (int i = 0; i < items.length; i++) {
                if (i > 0) out.append(',');
                write(items[i], out, path + "[" + i + "]");
            }
            out.append(']');
        } else {
            throw new IllegalArgumentException("a " + v.getClass().getSimpleName() + " at " + path + " has no JSON form");
        }
    }

    /** RFC 8785 3.2.2.2: as ECMAScript JSON.stringify (lowercase \\u00xx below U+0020). */
    static void string(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\b': out.append("\\b"); break;
                case '\t': out.append("\\t"); break;
                case '\n': out.append("\\n"); break;
                case '\f': out.append("\\f"); break;
                case '\r': out.append("\\r"); break;
                default:
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else if (Character.isSurrogate(c)) {
                        if (!Character.isHighSurrogate(c) || i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
                            throw new IllegalArgumentException("a string holds a lone surrogate (not representable in UTF-8)");
                        }
                        out.append(c).append(s.charAt(++i));
                    } else out.append(c);
            }
        }
        out.append('"');
    }
}
