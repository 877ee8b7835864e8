package tradelog;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Submits signed events to a node over {@code java.net.http}: {@code POST /v1/events} and
 * {@code POST /v1/events/batch}. A refusal surfaces as {@link NodeException} with the HTTP
 * status and the node's stable error code ({@code unknown_issuer}, {@code bad_signature},
 * {@code membership_seq}, ...).
 */
public final class NodeClient {
    /** A node refused the request or could not be reached (status 0). */
    public static final class NodeException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final int status;
        public final String code;

        NodeException(int status, String code, String message) {
            super("node answered " + status + " " + code + ": " + message);
            this.status = status;
            this.code = code;
        }
    }

    /** The node's answer to a submission: HTTP status (202 new, 200 known), id, state, index or -1. */
    public record Submitted(int status, String id, String state, long index) {}

    private final String url;
    private final SigningKey readKey;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** A node at {@code url}, e.g. {@code http://127.0.0.1:7100}. */
    public NodeClient(String url) {
        this(url, null);
    }

    /**
     * A node at {@code url} whose requests are all signed with {@code readKey}, a member
     * organisation's key (PROTOCOL.md 12), as a node with {@code [api] read_access = "members"}
     * or {@code "parties"} requires; null signs nothing.
     */
    public NodeClient(String url, SigningKey readKey) {
        this.url = url.replaceAll("/+$", "");
        this.readKey = readKey;
    }

    /** Submits one event. */
    public Submitted submit(Event event) {
        return submit(event.wire());
    }

    /** Submits one event's JSON text. */
    public Submitted submit(String wire) {
        HttpResponse<String> r = send("POST", "/v1/events", wire);
        Map<String, Object> j = Json.parseObject(r.body());
        return new Submitted(r.statusCode(), (String) j.get("id"), (String) j.get("status"),
            j.get("index") instanceof Long ? (Long) j.get("index") : -1);
    }

    /**
     * Submits events in one request; one result per event, in order: {@code {"id", "status",
     * "index"?}} or {@code {"id"?, "error": {"code", "message"}}}.
     */
    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> submitBatch(List<Event> events) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < events.size(); i++) b.append(i > 0 ? "," : "").append(events.get(i).wire());
        HttpResponse<String> r = send("POST", "/v1/events/batch", b.append(']').toString());
        return (List<Map<String, Object>>) Json.parseObject(r.body()).get("results");
    }

    /** {@code GET /v1/events/{id}}: {@code {"id", "status", "index"?, "event"}}. */
    public Map<String, Object> event(String id) {
        return Json.parseObject(get("/v1/events/" + id));
    }

    /** Polls until the event is committed; returns its log index. */
    public long waitCommitted(String id, Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                Map<String, Object> s = event(id);
                if ("committed".equals(s.get("status"))) return (Long) s.get("index");
            } catch (NodeException e) {
                if (e.status != 404) throw e;
            }
            if (System.nanoTime() > until) throw new NodeException(0, "timeout", "event " + id + " not committed in time");
            Thread.sleep(200);
        }
    }

    /** GET a path; the body text. */
    public String get(String path) {
        return send("GET", path, null).body();
    }

    private HttpResponse<String> send(String method, String path, String body) {
        URI uri = URI.create(url + path);
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10));
        if (readKey != null) RequestSigner.sign(readKey, method, uri).forEach(b::header);
        b = body == null ? b.GET() : b.header("content-type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r;
        try {
            r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new NodeException(0, "unreachable", "node " + url + " is unreachable: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodeException(0, "interrupted", e.toString());
        }
        if (r.statusCode() >= 400) {
            String code = "unknown";
            String message = r.body();
            try {
                Map<?, ?> err = (Map<?, ?>) Json.parseObject(r.body()).get("error");
                code = (String) err.get("code");
                message = (String) err.get("message");
            } catch (RuntimeException ignored) {
                // not a JSON error body: keep the text
            }
            throw new NodeException(r.statusCode(), code, message);
        }
        return r;
    }
}
