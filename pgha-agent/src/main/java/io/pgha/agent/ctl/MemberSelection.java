package io.pgha.agent.ctl;

import io.pgha.ClusterView.Member;
import io.pgha.PghaException;
import io.pgha.agent.ctl.Output.Format;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The members an action (restart, reinitialize, reload, flush) applies to, chosen as patronictl's
 * {@code get_members} chooses them: the members table first, then the named members that have the
 * role (all members with the role when none is named, except for reinitialize, which asks), then the
 * confirmation.
 */
final class MemberSelection {
    private MemberSelection() {
    }

    /**
     * @param action  the verb of the questions: restart, reinitialize, reload, flush
     * @param confirm whether to ask "Are you sure you want to ACTION members ...?" at the end
     */
    static List<Member> choose(Ctl ctl, ClusterState c, List<String> names, MemberRole role, boolean force, String action,
                               boolean confirm) {
        List<Member> members = role.members(c);
        Set<String> candidates = new LinkedHashSet<>();
        members.forEach(m -> candidates.add(m.name()));
        if (names.isEmpty() && candidates.isEmpty()) {
            throw new PghaException(c.scope() + " cluster doesn't have any members");
        }
        ctl.out().print(MemberTable.render(c, false, Format.PRETTY));
        for (String n : names) {
            if (c.view().member(n).isEmpty()) {
                throw new PghaException(n + " is not a member of cluster");
            }
        }
        List<String> chosen = new ArrayList<>();
        if (!names.isEmpty()) {
            names.stream().filter(candidates::contains).distinct().forEach(chosen::add);
            if (chosen.isEmpty()) {
                throw new PghaException("No " + role + " among provided members");
            }
        } else if (!action.equals("reinitialize")) {
            chosen.addAll(candidates);
        }
        if (chosen.isEmpty() && !force) {
            chosen.add(ctl.prompt().ask("Which member do you want to " + action + " [" + String.join(", ", candidates) + "]?", ""));
        }
        for (String n : chosen) {
            if (!candidates.contains(n)) {
                throw new PghaException(n + " is not a member of cluster");
            }
        }
        List<Member> out = members.stream().filter(m -> chosen.contains(m.name())).toList();
        if (confirm) {
            confirmAction(ctl, out, force, action);
        }
        return out;
    }

    /** "Are you sure you want to ACTION members a, b?"; aborts the command on no. */
    static void confirmAction(Ctl ctl, List<Member> members, boolean force, String action) {
        if (!ctl.prompt().confirm("Are you sure you want to " + action + " members "
                + String.join(", ", members.stream().map(Member::name).toList()) + "?", force)) {
            throw new Aborted("Aborted " + action);
        }
    }

    /** The operator said no: the message is printed and the exit code is 1. */
    static final class Aborted extends PghaException {
        private static final long serialVersionUID = 1L;

        Aborted(String message) {
            super(message);
        }
    }
}
