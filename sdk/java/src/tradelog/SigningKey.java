package tradelog;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.EdECPublicKey;
import java.security.spec.EdECPoint;
import java.security.spec.EdECPublicKeySpec;
import java.security.spec.NamedParameterSpec;
import java.util.Map;

/**
 * An Ed25519 signing key on the JDK's own provider ({@code java.security}, JDK 15+): a 32-byte
 * seed (the RFC 8032 private key) and its public key. {@link #toString()} never shows the seed.
 */
public final class SigningKey {
    private final PrivateKey privateKey;
    private final byte[] publicKey;

    private SigningKey(PrivateKey privateKey, byte[] publicKey) {
        this.privateKey = privateKey;
        this.publicKey = publicKey;
    }

    /** The key of a 32-byte seed (deterministic: RFC 8032 key generation from the seed). */
    public static SigningKey fromSeed(byte[] seed) {
        if (seed.length != 32) throw new IllegalArgumentException("an Ed25519 seed is 32 bytes");
        byte[] copy = seed.clone();
        // The JDK derives the key pair from the 32 bytes its SecureRandom hands out; this one
        // hands out the seed.
        SecureRandom fixed = new SecureRandom() {
            @Override
            public void nextBytes(byte[] bytes) {
                System.arraycopy(copy, 0, bytes, 0, bytes.length);
            }
        };
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
            g.initialize(NamedParameterSpec.ED25519, fixed);
            KeyPair kp = g.generateKeyPair();
            return new SigningKey(kp.getPrivate(), encode((EdECPublicKey) kp.getPublic()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no Ed25519", e);
        }
    }

    /** A fresh key from the platform's strong randomness. */
    public static SigningKey generate() {
        byte[] seed = new byte[32];
        new SecureRandom().nextBytes(seed);
        return fromSeed(seed);
    }

    /**
     * Reads a tradelog key file {@code {"public": "<hex>", "secret": "<hex seed>"}} (what
     * {@code tradelog keygen} and the devnet write), checking that the public key matches.
     */
    public static SigningKey fromKeyFile(String json) {
        Map<String, Object> kf = Json.parseObject(json);
        SigningKey k = fromSeed(Hex.decode((String) kf.get("secret"), 32));
        if (!k.publicKeyHex().equals(kf.get("public"))) throw new IllegalArgumentException("key file: public does not match secret");
        return k;
    }

    /** The 32-byte compressed public key (RFC 8032 5.1.2 encoding). */
    public byte[] publicKey() {
        return publicKey.clone();
    }

    /** The public key as 64 lowercase hex characters. */
    public String publicKeyHex() {
        return Hex.encode(publicKey);
    }

    /** Pure Ed25519 (deterministic) signature of {@code message}: 64 bytes. */
    public byte[] sign(byte[] message) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(privateKey);
            s.update(message);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Checks a signature with the JDK's Ed25519 (RFC 8032). For checking one's own output; a
     * verifier of ledger data applies PROTOCOL.md section 1 (ZIP-215 with vetted keys), as the
     * TypeScript and Rust verifiers do.
     */
    public static boolean verify(byte[] publicKey, byte[] message, byte[] signature) {
        try {
            byte[] b = publicKey.clone();
            boolean xOdd = (b[31] & 0x80) != 0;
            b[31] &= 0x7f;
            byte[] be = new byte[32];
            for (int i = 0; i < 32; i++) be[i] = b[31 - i];
            PublicKey key = KeyFactory.getInstance("Ed25519").generatePublic(
                new EdECPublicKeySpec(NamedParameterSpec.ED25519, new EdECPoint(xOdd, new BigInteger(1, be))));
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(key);
            s.update(message);
            return s.verify(signature);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    private static byte[] encode(EdECPublicKey key) {
        EdECPoint p = key.getPoint();
        byte[] be = p.getY().toByteArray();
        byte[] le = new byte[32];
        for (int i = 0; i < 32 && i < be.length; i++) le[i] = be[be.length - 1 - i];
        if (p.isXOdd()) le[31] |= (byte) 0x80;
        return le;
    }

    @Override
    public String toString() {
        return "SigningKey(public=" + publicKeyHex() + ", secret=<redacted>)";
    }
}
