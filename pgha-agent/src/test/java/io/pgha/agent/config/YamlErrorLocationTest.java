package io.pgha.agent.config;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.ConfigurationException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class YamlErrorLocationTest {
    private static final String VALID = """
            scope: s
            name: n
            etcd3:
              hosts: 127.0.0.1:2379
            postgresql:
              listen: 127.0.0.1:5432
              data_dir: /tmp/d
              authentication:
                replication: {username: r, password: p}
            """;

    @Test
    void aSyntaxErrorNamesTheFileLineAndColumn() {
        assertThatThrownBy(() -> AgentConfig.parse(VALID + "restapi:\n  listen: 127.0.0.1:8008\n   connect_address: x: y\n", "/etc/patroni.yml"))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("config: /etc/patroni.yml:12:19: not valid YAML: mapping values are not allowed here");
    }

    @Test
    void anUnclosedBracketNamesWhereTheListStarted() {
        assertThatThrownBy(() -> AgentConfig.parse("scope: s\nname: [a, b\n", "p.yml"))
                .hasMessage("config: p.yml:3:1: not valid YAML: expected ',' or ']', but got <stream end> "
                        + "(while parsing a flow sequence that starts at line 2, column 7)");
    }

    @Test
    void aTabInTheIndentationIsNamedWithItsLine() {
        assertThatThrownBy(() -> AgentConfig.parse("scope: s\nrestapi:\n\tlisten: 127.0.0.1:8008\n", "p.yml"))
                .hasMessageStartingWith("config: p.yml:3:1: not valid YAML: found character '\\t(TAB)' that cannot start any token");
    }

    @Test
    void aKeyGivenTwiceIsRefusedWithTheLineOfTheSecond() {
        assertThatThrownBy(() -> AgentConfig.parse(VALID + "scope: t\n", "p.yml"))
                .hasMessageStartingWith("config: p.yml:")
                .hasMessageContaining("found duplicate key scope");
    }

    @Test
    void aControlCharacterIsNamedWithItsLineAndColumn() {
        assertThatThrownBy(() -> AgentConfig.parse("scope: s\nname: a\u0001b\n", "p.yml"))
                .hasMessage("config: p.yml:2:8: not valid YAML: special characters are not allowed (U+0001)");
    }

    @Test
    void aDocumentThatIsNotAMappingIsRefused() {
        assertThatThrownBy(() -> AgentConfig.parse("- a\n- b\n", "p.yml")).hasMessage("config: p.yml must be a YAML mapping, not a list");
        assertThatThrownBy(() -> AgentConfig.parse("# nothing\n", "p.yml")).hasMessage("config: p.yml must be a YAML mapping (it is empty)");
    }

    @Test
    void aValueOfTheWrongTypeNamesTheKeyAndItsLine() {
        assertThatThrownBy(() -> AgentConfig.parse(VALID.replace("data_dir: /tmp/d", "data_dir: [/tmp/d]"), "p.yml"))
                .hasMessage("postgresql.data_dir: expected a single value, got a list (at p.yml:7:3)");
        assertThatThrownBy(() -> AgentConfig.parse(VALID + "restapi: [127.0.0.1:8008]\n", "p.yml"))
                .hasMessage("restapi: expected a mapping, got a list (at p.yml:10:1)");
        assertThatThrownBy(() -> AgentConfig.parse(VALID + "ctl:\n  insecure: sometimes\n", "p.yml"))
                .hasMessage("ctl.insecure: expected true or false, got 'sometimes' (at p.yml:11:3)");
        assertThatThrownBy(() -> AgentConfig.parse(VALID + "consul: {host: 127.0.0.1, port: high}\n", "p.yml"))
                .hasMessageStartingWith("consul.port: expected an integer, got 'high' (at p.yml:10:");
    }

    @Test
    void aBadValueFromTheEnvironmentNamesTheVariable() {
        assertThatThrownBy(() -> AgentConfig.parse(VALID + "restapi: {listen: 127.0.0.1:8008}\n", "p.yml",
                Map.of("PATRONI_RESTAPI_LISTEN", "127.0.0.1:http")))
                .hasMessage("restapi.listen: '127.0.0.1:http' has a port that is not a number (from PATRONI_RESTAPI_LISTEN)");
    }

    @Test
    void aMissingKeyHasNoLineToName() {
        assertThatThrownBy(() -> AgentConfig.parse(VALID.replace("  data_dir: /tmp/d\n", ""), "p.yml"))
                .hasMessage("postgresql.data_dir: is required");
    }
}
