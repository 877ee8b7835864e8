package tradelog;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * A signed event (PROTOCOL.md 3.3): the signing message is {@code "tradelog/event/v1" || 0x00
 * || JCS(body)}, the id is BLAKE3 of it, and the wire form sent to a node is
 * {@code {"body":JCS(body),"sig":"<128 hex>"}}.
 */
public final class Event {
    /** Signature domain of events. */
    public static final String DOMAIN = "tradelog/event/v1";
    /** Largest canonical body of an event other than {@code membership} (PROTOCOL.md 10). */
    public static final int MAX_BODY_BYTES = 16384;
    /** Largest canonical body of a {@code membership} event (PROTOCOL.md 10). */
    public static final int MAX_MEMBERSHIP_BODY_BYTES = 131072;

    private final String canonicalBody;
    private final byte[] message;
    private final String id;
    private final String sig;

    private Event(String canonicalBody, byte[] message, String sig) {
        this.canonicalBody = canonicalBody;
        this.message = message;
        this.id = Hex.encode(Blake3.hash(message));
        this.sig = sig;
    }

    /** The bytes an issuer signs for {@code body}. */
    public static byte[] signingBytes(Map<String, Object> body) {
        byte[] canon = Jcs.canonicalBytes(Membership.canonicalForm(body));
        int max = "membership".equals(body.get("kind")) ? MAX_MEMBERSHIP_BODY_BYTES : MAX_BODY_BYTES;
        if (canon.length > max) throw new IllegalArgumentException("body: the canonical body is " + canon.length + " bytes, the limit is " + max);
        return Hex.concat(DOMAIN.getBytes(StandardCharsets.UTF_8), new byte[] {0}, canon);
    }

    /** Checks {@code body} and signs it with {@code key} (whose public key must be the issuer key). */
    public static Event sign(Map<String, Object> body, SigningKey key) {
        EventBody.check(body);
        Object issuerKey = ((Map<?, ?>) body.get("issuer")).get("key");
        if (!key.publicKeyHex().equals(issuerKey)) throw new IllegalArgumentException("body.issuer.key: " + issuerKey + " is not the signing key " + key.publicKeyHex());
        byte[] message = signingBytes(body);
        String canon = new String(message, DOMAIN.length() + 1, message.length - DOMAIN.length() - 1, StandardCharsets.UTF_8);
        return new Event(canon, message, Hex.encode(key.sign(message)));
    }

    /** The event id (64 lowercase hex). */
    public String id() {
        return id;
    }

    /** The signature (128 lowercase hex). */
    public String sig() {
        return sig;
    }

    /** JCS(body). */
    public String canonicalBody() {
        return canonicalBody;
    }

    /** The signed message. */
    public byte[] message() {
        return message.clone();
    }

    /** The canonical wire form, what {@link NodeClient#submit} sends. */
    public String wire() {
        return "{\"body\":" + canonicalBody + ",\"sig\":\"" + sig + "\"}";
    }
}
