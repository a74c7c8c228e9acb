"""The store-and-forward spool survives restarts, keeps sequence numbers, counts drops."""

from edge_agent.outputs.spool import Spool


def payload(seq: int) -> bytes:
    return f"m{seq}".encode()


def test_uncommitted_messages_survive_a_restart(tmp_path):
    path = tmp_path / "spool.sqlite"
    sp = Spool(path)
    for _ in range(5):
        sp.append("t", payload)
    sp.commit(sp.begin(limit=2))
    sp.close()
    sp = Spool(path)
    assert [m.seq for m in sp.begin(limit=10)] == [2, 3, 4]
    assert sp.append("t", payload) == 5  # the sequence goes on, never reused
    assert sp.committed == 2
    assert [m.payload for m in sp.begin(limit=10)] == [b"m2", b"m3", b"m4", b"m5"]


def test_overflow_drops_oldest_and_counts(tmp_path):
    sp = Spool(tmp_path / "s.sqlite", max_messages=10)
    for _ in range(25):
        sp.append("t", payload)
    assert sp.depth() == 10
    assert sp.dropped == 15
    assert [m.seq for m in sp.begin(limit=100)] == list(range(15, 25))


def test_commit_removes_only_what_was_acknowledged(tmp_path):
    sp = Spool(tmp_path / "s.sqlite")
    for _ in range(4):
        sp.append("t", payload)
    tx = sp.begin(limit=4)
    sp.commit(tx[:1])
    assert [m.seq for m in sp.begin(limit=10)] == [1, 2, 3]
