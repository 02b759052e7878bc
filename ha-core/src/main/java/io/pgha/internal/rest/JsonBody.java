package io.pgha.internal.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.internal.cluster.ClusterCodec;
import java.util.Optional;

/** A request's JSON body, read for an operator endpoint: anything malformed is a 400 saying what. */
final class JsonBody {
    private JsonBody() {
    }

    /** The body as a JSON object; a blank body is an empty object unless one is {@code required}. */
    static ObjectNode object(String body, boolean required) {
        if (body.isBlank()) {
            if (required) {
                throw new HttpError(400, "a JSON object body is required");
            }
            return ClusterCodec.JSON.createObjectNode();
        }
        JsonNode n;
        try {
            n = ClusterCodec.JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new HttpError(400, "the body is not valid JSON");
        }
        if (n == null || !n.isObject()) {
            throw new HttpError(400, "the body must be a JSON object");
        }
        return (ObjectNode) n;
    }

    /** A string field; absent, null or blank is empty, any other type a 400. */
    static Optional<String> text(ObjectNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw new HttpError(400, field + " must be a string");
        }
        return Optional.of(v.asText()).filter(s -> !s.isBlank());
    }
}
