package tradelog;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict JSON reader for protocol texts and node answers: objects become {@code Map<String,
 * Object>} (member order kept), arrays {@code List<Object>}, strings {@code String}, integers
 * {@code Long} (or {@code BigInteger} beyond 64 bits), {@code true}/{@code false} {@code
 * Boolean}, {@code null} {@code null}. A member name given twice, a fraction or an exponent, a
 * lone surrogate and nesting deeper than 128 are refused ({@link JsonException}).
 */
public final class Json {
    /** Why a text is not accepted. */
    public static final class JsonException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        JsonException(String message) {
            super(message);
        }
    }

    private final String s;
    private int i;

    private Json(String s) {
        this.s = s;
    }

    /** Parses a whole JSON text. */
    public static Object parse(String text) {
        Json p = new Json(text);
        p.ws();
        Object v = p.value(0);
        p.ws();
        if (p.i != text.length()) throw p.fail("trailing characters after the JSON value");
        return v;
    }

    /** Parses a JSON object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) {
        Object v = parse(text);
        if (!(v instanceof Map)) throw new JsonException("expected a JSON object");
        return (Map<String, Object>) v;
    }

    private JsonException fail(String what) {
        return new JsonException(what + " at offset " + i);
    }

    private void ws() {
        while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++;
    }

    private Object value(int depth) {
        if (depth > 128) throw fail("nesting deeper than 128");
        if (i >= s.length()) throw fail("unexpected end of input");
        char c = s.charAt(i);
        if (c == '{') return object(depth + 1);
        if (c == '[') return array(depth + 1);
        if (c == '"') return string();
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        if (s.startsWith("true", i)) {
            i += 4;
            return Boolean.TRUE;
        }
        if (s.startsWith("false", i)) {
            i += 5;
            return Boolean.FALSE;
        }
        if (s.startsWith("null", i)) {
            i += 4;
            return null;
        }
        throw fail("unexpected character");
    }

    private Map<String, Object> object(int depth) {
        i++;
        Map<String, Object> out = new LinkedHashMap<>();
        ws();
        if (i < s.length() && s.charAt(i) == '}') {
            i++;
            return out;
        }
        while (true) {
            ws();
            if (i >= s.length() || s.charAt(i) != '"') throw fail("expected a member name");
            String k = string();
            if (out.containsKey(k)) throw fail("member \"" + k + "\" appears twice");
            ws();
            if (i >= s.length() || s.charAt(i) != ':') throw fail("expected ':'");
            i++;
            ws();
            out.put(k, value(depth));
            ws();
            if (i >= s.length()) throw fail("unexpected end of input");
            char c = s.charAt(i++);
            if (c == '}') return out;
            if (c != ',') throw fail("expected ',' or '}'");
        }
    }

    private List<Object> array(int depth) {
        i++;
        List<Object> out = new ArrayList<>();
        ws();
        if (i < s.length() && s.charAt(i) == ']') {
            i++;
            return out;
        }
        while (true) {
            ws();
            out.add(value(depth));
            ws();
            if (i >= s.length()) throw fail("unexpected end of input");
            char c = s.charAt(i++);
            if (c == ']') return out;
            if (c != ',') throw fail("expected ',' or ']'");
        }
    }

    private Object number() {
        int start = i;
        if (s.charAt(i) == '-') i++;
        if (i < s.length() && s.charAt(i) == '0') i++;
        else if (i < s.length() && s.charAt(i) >= '1' && s.charAt(i) <= '9') {
            while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
        } else throw fail("invalid number");
        if (i < s.length() && ".eE".indexOf(s.charAt(i)) >= 0) throw fail("not an integer (no fraction or exponent)");
        BigInteger n = new BigInteger(s.substring(start, i));
        return n.bitLength() < 64 ? (Object) n.longValue() : n;
    }

    private String string() {
        i++;
        StringBuilder out = new StringBuilder();
        while (true) {
            if (i >= s.length()) throw fail("unterminated string");
            char c = s.charAt(i++);
            if (c == '"') return out.toString();
            if (c < 0x20) throw fail("control character in string");
            if (Character.isHighSurrogate(c)) {
                if (i >= s.length() || !Character.isLowSurrogate(s.charAt(i))) throw fail("lone surrogate in string");
                out.append(c).append(s.charAt(i++));
            } else if (Character.isLowSurrogate(c)) {
                throw fail("lone surrogate in string");
            } else if (c == '\\') {
                if (i >= s.length()) throw fail("unterminated string");
                char e = s.charAt(i++);
                switch (e) {
                    case '"': out.append('"'); break;
                    case '\\': out.append('\\'); break;
                    case '/': out.append('/'); break;
                    case 'b': out.append('\b'); break;
                    case 'f': out.append('\f'); break;
                    case 'n': out.append('\n'); break;
                    case 'r': out.append('\r'); break;
                    case 't': out.append('\t'); break;
                    case 'u': {
                        char hi = hex4();
                        if (Character.isHighSurrogate(hi)) {
                            if (!s.startsWith("\\u", i)) throw fail("lone leading surrogate in escape");
                            i += 2;
                            char lo = hex4();
                            if (!Character.isLowSurrogate(lo)) throw fail("invalid trailing surrogate in escape");
                            out.append(hi).append(lo);
                        } else if (Character.isLowSurrogate(hi)) {
                            throw fail("lone trailing surrogate in escape");
                        } else out.append(hi);
                        break;
                    }
                    default: throw fail("invalid escape");
                }
            } else out.append(c);
        }
    }

    private char hex4() {
        if (i + 4 > s.length()) throw fail("invalid \\u escape");
        String h = s.substring(i, i + 4);
        if (!h.matches("[0-9a-fA-F]{4}")) throw fail("invalid \\u escape");
        i += 4;
        return (char) Integer.parseInt(h, 16);
    }
}
