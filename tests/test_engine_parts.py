"""Small engine parts on their own: a partition's line, the series' tallies."""

from __future__ import annotations

import numpy as np
import pytest

from qsim.engine.event_source import _first_of_each
from qsim.engine.metrics import LatencyRecorder, TimeSeries
from qsim.engine.partitions import Partition, Servers


def _partition() -> Partition:
    part = Partition()
    part.extend([1.0, 2.0, 2.0, 3.0], [10, 11, 12, 13])
    return part


def test_partition_takes_only_due_messages_oldest_first_up_to_the_batch():
    part = _partition()
    assert part.take_due(0.5, 10) == []
    assert part.take_due(2.0, 2) == [10, 11]
    assert part.take_due(2.0, 10) == [12]
    assert part.take_due(9.0, 10) == [13]
    assert part.take_due(9.0, 10) == []


def test_partition_hands_out_only_its_next_message():
    part = _partition()
    assert not part.take_next(11)
    assert part.take_next(10)
    assert part.take_due(2.0, 10) == [11, 12]


def test_partition_drops_taken_messages_when_the_next_block_arrives():
    part = _partition()
    part.take_due(2.0, 3)
    part.extend([4.0], [14])
    assert part.at == [3.0, 4.0] and part.ids == [13, 14]
    assert part.take_due(4.0, 10) == [13, 14]


def test_partition_drops_old_messages_waiting_and_returned():
    part = _partition()
    part.returned.extend([20, 21])
    sent_at_s = np.zeros(30)
    sent_at_s[[12, 13, 21]] = 50.0
    gone, n_returned = part.drop_sent_by(sent_at_s, 10.0)
    assert gone == [10, 11, 20] and n_returned == 1
    assert list(part.returned) == [21]
    assert part.take_due(9.0, 10) == [12, 13]


def test_tallies_add_to_columns_and_peaks_keep_the_larger():
    series = TimeSeries(duration_s=3.0, interval_s=1.0)
    series.add_times("calls", np.array([0.5, 2.5]))
    series.tally("calls")[2] += 3
    series.tally("calls")[3] += 1  # the spare bin, at exactly the end
    series.column("concurrency", peak=True)[1] = 4
    series.tally("concurrency", peak=True)[1] = 2
    series.tally("concurrency", peak=True)[2] = 5
    columns = series.frame_columns()
    assert columns["calls"].tolist() == [1, 0, 5]
    assert columns["concurrency"].tolist() == [0, 4, 5]


def test_first_of_each_finds_first_fresh_entries_in_order():
    scratch = np.zeros(10, dtype=np.int64)
    ids = np.array([7, 3, 7, 5, 3, 2])
    stale = np.zeros(6, dtype=bool)
    assert _first_of_each(ids[[0, 1, 3, 5]], scratch, stale[:4]) is None
    assert _first_of_each(ids, scratch, stale).tolist() == [0, 1, 3, 5]
    stale[[0, 1]] = True  # e.g. 7 and 3 were processed before this flush
    assert _first_of_each(ids, scratch, stale).tolist() == [2, 3, 4, 5]


def test_ordered_times_are_binned_like_any_others():
    times = np.sort(np.random.default_rng(1).uniform(0, 10, 200))
    plain, ordered = TimeSeries(10.0, 1.0), TimeSeries(10.0, 1.0)
    plain.add_times("x", times)
    ordered.add_times("x", times, ordered=True)
    assert plain.frame_columns()["x"].tolist() == ordered.frame_columns()["x"].tolist()


def test_latency_mean_ignores_order_and_survives_week_long_latencies():
    week_s = 7 * 86_400.0
    values = np.random.default_rng(2).uniform(0, 2 * week_s, 200_000)
    whole, pieces = LatencyRecorder(3600.0), LatencyRecorder(3600.0)
    whole.add(np.zeros(len(values)), values)
    for chunk in np.array_split(values[::-1], 7):
        pieces.add(np.zeros(len(chunk)), chunk)
    mean_ms = whole.stats_ms()["mean"]
    assert mean_ms == pieces.stats_ms()["mean"]
    assert mean_ms == pytest.approx(values.mean() * 1000, rel=1e-9)


def test_servers_gather_at_most_n_across_partitions_returned_first():
    servers = Servers(3, np.random.default_rng(0), short_poll_sample=1.0)
    servers.admit(
        np.array([1.0, 1.0, 1.0, 1.0, 1.0, 5.0]),
        np.arange(6),
        np.array([0, 0, 0, 0, 0, 1]),
    )
    servers.put_back(list(range(10, 18)), [1] * 8)
    fresh, again = servers.gather(2.0, 10, short=False)
    assert fresh == [0, 1, 2, 3, 4] and again == [10, 11, 12, 13, 14]
    assert servers.n_returned == 3
    # The next long poll starts at partition 2, then wraps round to 0 and 1.
    fresh, again = servers.gather(9.0, 10, short=False)
    assert fresh == [5] and again == [15, 16, 17]
    assert servers.n_returned == 0
