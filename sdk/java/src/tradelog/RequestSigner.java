package tradelog;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * HTTP request signatures (PROTOCOL.md section 12): RFC 9421 HTTP Message Signatures with
 * ed25519, in the one canonical form a tradelog node accepts. A node with
 * {@code [api] read_access = "members"} or {@code "parties"} serves its private reads only to
 * requests signed by an active event key of a member organisation: add the two headers of
 * {@link #sign} to the request.
 */
public final class RequestSigner {
    /** The {@code tag} parameter: the signature's namespace. */
    public static final String TAG = "tradelog/request/v1";
    /** Longest validity window a node accepts, seconds. */
    public static final long MAX_VALIDITY_SECS = 300;
    private static final String[] COMPONENTS = {"@method", "@authority", "@path", "@query"};
    private static final Pattern NONCE = Pattern.compile("[A-Za-z0-9._~+/=-]{1,64}");

    private RequestSigner() {}

    /**
     * The signature base of a request for the {@code @signature-params} value {@code params}
     * (the {@code Signature-Input} member value after {@code sig1=}); {@code query} without
     * {@code ?}, or null.
     */
    public static byte[] signatureBase(String method, String authority, String path, String query, String params) {
        StringBuilder b = new StringBuilder();
        b.append("\"@method\": ").append(method).append('\n');
        b.append("\"@authority\": ").append(authority.toLowerCase(java.util.Locale.ROOT)).append('\n');
        b.append("\"@path\": ").append(path.isEmpty() ? "/" : path).append('\n');
        b.append("\"@query\": ?").append(query == null ? "" : query).append('\n');
        b.append("\"@signature-params\": ").append(params);
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The {@code Signature-Input} and {@code Signature} headers (in that order) of a request by
     * {@code key}, valid from {@code created} to {@code expires} (unix seconds, at most 300 s
     * apart); {@code nonce} may be null.
     */
    public static Map<String, String> sign(SigningKey key, String method, String authority, String path, String query,
                                           long created, long expires, String nonce) {
        if (created < 0 || expires <= created || expires - created > MAX_VALIDITY_SECS) {
            throw new IllegalArgumentException("expires: must be after created and at most " + MAX_VALIDITY_SECS + " s after it");
        }
        if (nonce != null && !NONCE.matcher(nonce).matches()) {
            throw new IllegalArgumentException("nonce: 1-64 characters of A-Z a-z 0-9 - _ . ~ + / =");
        }
        StringBuilder p = new StringBuilder("(");
        for (int i = 0; i < COMPONENTS.length; i++) p.append(i == 0 ? "" : " ").append('"').append(COMPONENTS[i]).append('"');
        p.append(");created=").append(created).append(";expires=").append(expires)
            .append(";keyid=\"").append(key.publicKeyHex()).append("\";alg=\"ed25519\";tag=\"").append(TAG).append('"');
        if (nonce != null) p.append(";nonce=\"").append(nonce).append('"');
        String params = p.toString();
        byte[] sig = key.sign(signatureBase(method, authority, path, query, params));
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Signature-Input", "sig1=" + params);
        headers.put("Signature", "sig1=:" + Base64.getEncoder().encodeToString(sig) + ":");
        return headers;
    }

    /** {@link #sign} for {@code uri}, valid for 60 s from now, without a nonce. */
    public static Map<String, String> sign(SigningKey key, String method, URI uri) {
        long now = System.currentTimeMillis() / 1000;
        String authority = uri.getRawAuthority();
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        return sign(key, method, authority, path, uri.getRawQuery(), now, now + 60, null);
    }
}
