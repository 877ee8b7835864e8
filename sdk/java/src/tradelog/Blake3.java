package tradelog;

/**
 * BLAKE3 with 32-byte output (default mode, no key), for event ids and detail commitments. The
 * JDK has no BLAKE3; this is the reference algorithm over a whole input, checked against the
 * Rust reference across chunk boundaries (sdk/fixtures/vectors.json).
 */
public final class Blake3 {
    private static final int[] IV = {
        0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
    };
    private static final int[] PERMUTATION = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};
    private static final int CHUNK_START = 1, CHUNK_END = 2, PARENT = 4, ROOT = 8;
    private static final int CHUNK_LEN = 1024, BLOCK_LEN = 64;

    private Blake3() {}

    /** BLAKE3 of the concatenation of {@code parts}. */
    public static byte[] hash(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] input = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, input, at, p.length);
            at += p.length;
        }
        long chunks = Math.max(1, (input.length + CHUNK_LEN - 1) / CHUNK_LEN);
        int[] out = subtree(input, 0, chunks, true);
        byte[] digest = new byte[32];
        for (int i = 0; i < 8; i++) {
            for (int j = 0; j < 4; j++) digest[4 * i + j] = (byte) (out[i] >>> (8 * j));
        }
        return digest;
    }

    /** The chaining value (or, for the root, the output words) of chunks [start, end). */
    private static int[] subtree(byte[] input, long start, long end, boolean root) {
        long n = end - start;
        if (n == 1) return chunk(input, start, root);
        long k = Long.highestOneBit(n - 1);
        int[] left = subtree(input, start, start + k, false);
        int[] right = subtree(input, start + k, end, false);
        int[] block = new int[16];
        System.arraycopy(left, 0, block, 0, 8);
        System.arraycopy(right, 0, block, 8, 8);
        return compress(IV, block, 0, BLOCK_LEN, PARENT | (root ? ROOT : 0));
    }

    private static int[] chunk(byte[] input, long index, boolean root) {
        int from = (int) (index * CHUNK_LEN);
        int len = Math.min(CHUNK_LEN, input.length - from);
        int blocks = Math.max(1, (len + BLOCK_LEN - 1) / BLOCK_LEN);
        int[] cv = IV.clone();
        int[] out = cv;
        for (int b = 0; b < blocks; b++) {
            int off = from + b * BLOCK_LEN;
            int blen = Math.min(BLOCK_LEN, from + len - off);
            int[] words = new int[16];
            for (int i = 0; i < blen; i++) words[i / 4] |= (input[off + i] & 0xff) << (8 * (i % 4));
            int flags = (b == 0 ? CHUNK_START : 0) | (b == blocks - 1 ? CHUNK_END | (root ? ROOT : 0) : 0);
            out = compress(cv, words, index, blen, flags);
            cv = java.util.Arrays.copyOf(out, 8);
        }
        return root ? out : cv;
    }

    private static int[] compress(int[] cv, int[] block, long counter, int blockLen, int flags) {
        int[] s = {
            cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
            IV[0], IV[1], IV[2], IV[3], (int) counter, (int) (counter >>> 32), blockLen, flags,
        };
        int[] m = block.clone();
        for (int r = 0; r < 7; r++) {
            g(s, 0, 4, 8, 12, m[0], m[1]);
            g(s, 1, 5, 9, 13, m[2], m[3]);
            g(s, 2, 6, 10, 14, m[4], m[5]);
            g(s, 3, 7, 11, 15, m[6], m[7]);
            g(s, 0, 5, 10, 15, m[8], m[9]);
            g(s, 1, 6, 11, 12, m[10], m[11]);
            g(s, 2, 7, 8, 13, m[12], m[13]);
            g(s, 3, 4, 9, 14, m[14], m[15]);
            int[] p = new int[16];
            for (int i = 0; i < 16; i++) p[i] = m[PERMUTATION[i]];
            m = p;
        }
        for (int i = 0; i < 8; i++) {
            s[i] ^= s[i + 8];
            s[i + 8] ^= cv[i];
        }
        return s;
    }

    private static void g(int[] s, int a, int b, int c, int d, int mx, int my) {
        s[a] = s[a] + s[b] + mx;
        s[d] = Integer.rotateRight(s[d] ^ s[a], 16);
        s[c] = s[c] + s[d];
        s[b] = Integer.rotateRight(s[b] ^ s[c], 12);
        s[a] = s[a] + s[b] + my;
        s[d] = Integer.rotateRight(s[d] ^ s[a], 8);
        s[c] = s[c] + s[d];
        s[b] = Integer.rotateRight(s[b] ^ s[c], 7);
    }
}
