package io.pgha.internal.rest;

import com.fasterxml.jackson.databind.JsonNode;

/** What the REST API answers to one request: status code, content type and body. */
record Reply(int code, String contentType, String body) {
    static Reply json(int code, JsonNode body) {
        return new Reply(code, "application/json", body.toString());
    }

    static Reply text(int code, String body) {
        return new Reply(code, "text/plain; charset=utf-8", body);
    }
}
