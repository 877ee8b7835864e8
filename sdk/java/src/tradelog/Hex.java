package tradelog;

/** Lowercase hex (the protocol refuses uppercase) and small byte helpers. */
public final class Hex {
    private Hex() {}

    /** Lowercase hex of {@code b}. */
    public static String encode(byte[] b) {
        StringBuilder s = new StringBuilder(2 * b.length);
        for (byte x : b) s.append(Character.forDigit((x >> 4) & 15, 16)).append(Character.forDigit(x & 15, 16));
        return s.toString();
    }

    /** Exactly {@code n} bytes from {@code 2n} lowercase hex characters. */
    public static byte[] decode(String s, int n) {
        if (s.length() != 2 * n) throw new IllegalArgumentException("expected " + 2 * n + " lowercase hex characters, got " + s.length());
        byte[] out = new byte[n];
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (v < 0) throw new IllegalArgumentException("invalid character at position " + i + ": only lowercase hex 0-9a-f is allowed");
            out[i / 2] = (byte) ((out[i / 2] << 4) | v);
        }
        return out;
    }

    static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) o.writeBytes(p);
        return o.toByteArray();
    }

    static byte[] u32(long v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    static byte[] u64(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) b[i] = (byte) (v >>> (56 - 8 * i));
        return b;
    }
}
