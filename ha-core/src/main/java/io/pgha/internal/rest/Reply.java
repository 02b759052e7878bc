package io.pgha.internal.rest;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/** What the REST API answers to one request: status code, content type, body and any extra headers. */
record Reply(int code, String contentType, String body, Map<String, String> headers) {
    Reply {
        headers = Map.copyOf(headers);
    }

    Reply(int code, String contentType, String body) {
        this(code, contentType, body, Map.of());
    }

    static Reply json(int code, JsonNode body) {
        return new Reply(code, "application/json", body.toString());
    }

    static Reply text(int code, String body) {
        return new Reply(code, "text/plain; charset=utf-8", body);
    }

    /** This reply with one more header. */
    Reply withHeader(String name, String value) {
        Map<String, String> h = new java.util.LinkedHashMap<>(headers);
        h.put(name, value);
        return new Reply(code, contentType, body, h);
    }
}
