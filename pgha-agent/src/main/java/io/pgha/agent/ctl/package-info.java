/**
 * {@code pghactl} ({@link io.pgha.agent.ctl.Ctl}), patronictl for pgha clusters: it reads the cluster
 * from the store as a {@link io.pgha.ClusterView} and acts through the members' REST APIs.
 *
 * <p>One class per command ({@code ListCommand}, {@code TopologyCommand}, {@code QueryCommand},
 * {@code DsnCommand}, {@code SwitchoverCommand} and {@code FailoverCommand} over
 * {@code LeaderChangeCommand}, {@code PauseCommand} and {@code ResumeCommand} over
 * {@code MaintenanceModeCommand}, {@code HistoryCommand}, {@code ShowConfigCommand},
 * {@code EditConfigCommand}, {@code RestartCommand}, {@code ReinitCommand}, {@code ReloadCommand},
 * {@code FlushCommand}, {@code RemoveCommand}, {@code VersionCommand}), and what they share:
 * {@code Ctl} (the configuration file, the store, the REST calls), {@code ClusterState} (one read,
 * decoded, with the member entries as written), {@code MemberTable} (patronictl's members table and
 * topology), {@code Output} and {@code Table} (pretty, tsv, json and yaml as patronictl prints them),
 * {@code MemberRole} and {@code MemberSelection} (which members an action applies to), {@code Prompt}
 * (the questions, on standard input) and {@code DynamicConfigEditing} (changes to the {@code config}
 * key, their check and their diff).
 */
package io.pgha.agent.ctl;
