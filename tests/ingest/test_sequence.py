from ingest.sequence import SeqTracker


def test_a_new_spool_is_a_new_stream_not_duplicates():
    t = SeqTracker()
    assert all(t.check("gw", "aaaa", q) for q in range(5))
    assert all(t.check("gw", "bbbb", q) for q in range(3))  # spool replaced: seq from 0
    assert t.duplicates == 0 and t.missing_total() == 0


def test_gateways_are_tracked_apart():
    t = SeqTracker()
    assert t.check("gw1", "0", 10) and t.check("gw2", "0", 10)
    assert t.check("gw1", "0", 12)
    assert t.missing_total() == 1
