"""Writes quorum-cases.txt: inputs and outputs of Patroni's own QuorumStateResolver, for QuorumStateResolverTest.

Run from a checkout of Patroni (https://github.com/patroni/patroni) with its tests/ folder:

    python3 patroni_quorum_cases.py /path/to/patroni > quorum-cases.txt

The cases are every state Patroni's tests/test_quorum.py hands to the resolver (its interrupted
transitions included) and a fixed-seed sample of random states. Each line is
``leader|quorum|voters|numsync|sync|numsync_confirmed|active|sync_wanted|leader_wanted => result``
where sets are comma-separated sorted names and the result is ``ERROR`` or the transitions as
``kind:leader:num:names`` joined by ``;`` (empty: no transition).
"""
import random
import sys
import unittest

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + '/tests')

import patroni.quorum as quorum  # noqa: E402

seen = {}


def fmt(names):
    return ','.join(sorted(names))


def key(kw):
    return '|'.join([kw['leader'], str(kw['quorum']), fmt(kw['voters']), str(kw['numsync']), fmt(kw['sync']),
                     str(kw['numsync_confirmed']), fmt(kw['active']), str(kw['sync_wanted']), kw['leader_wanted']])


def run(kw):
    try:
        out = list(quorum.QuorumStateResolver(**kw))
        return ';'.join('{0}:{1}:{2}:{3}'.format(t.transition_type, t.leader, t.num, fmt(t.names)) for t in out)
    except Exception:  # QuorumError, AssertionError
        return 'ERROR'


class Recording(quorum.QuorumStateResolver):
    def __init__(self, **kw):
        seen[key(kw)] = run(dict(kw))
        super().__init__(**kw)


def main():
    import test_quorum
    test_quorum.QuorumStateResolver = Recording
    suite = unittest.defaultTestLoader.loadTestsFromModule(test_quorum)
    unittest.TextTestRunner(stream=open('/dev/null', 'w')).run(suite)
    r = random.Random(20240101)
    nodes = 'bcdef'
    for _ in range(4000):
        def subset():
            return set(n for n in nodes if r.random() < 0.5)
        leader = r.choice('ab')
        voters = subset() - {leader}
        sync = subset() - {'a'}
        active = subset() - {'a'}
        kw = dict(leader=leader, quorum=r.randint(0, max(0, len(voters))), voters=voters,
                  numsync=r.randint(0, len(sync)), sync=sync, numsync_confirmed=r.randint(0, len(sync)),
                  active=active, sync_wanted=r.randint(1, 4), leader_wanted='a')
        seen[key(kw)] = run(kw)
    for k in sorted(seen):
        print(k + ' => ' + seen[k])


main()
