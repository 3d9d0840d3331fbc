"""The benchmarks' readings and tables, on made-up /proc texts (no process is measured)."""

from bench.measure import (
    CLOCK_TICKS,
    CpuMeter,
    ProcStat,
    descendants,
    format_table,
    latency_summary,
    parse_machine_cpu,
    parse_memory_kib,
    parse_peak_rss_kib,
    parse_proc_stat,
    parse_rss_kib,
    percentile,
    ratio,
    tree_ticks,
)
from bench.stack import LOCK_PATH, lock_path, with_port


def stat_line(pid: int, comm: str, ppid: int, user: int, system: int, cuser: int = 0, csys: int = 0, start: int = 1):
    """A /proc/<pid>/stat line with the fields that matter set and the others plausible."""
    after_comm = ["S", ppid, pid, pid, 0, -1, 4194560, 100, 0, 0, 0, user, system, cuser, csys, 20, 0, 1, 0, start]
    return f"{pid} ({comm}) " + " ".join(str(value) for value in after_comm) + " 123456 789 18446744073709551615\n"


def stat(pid: int, ppid: int, user: int, system: int = 0, cuser: int = 0, csys: int = 0, start: int = 1) -> ProcStat:
    return ProcStat(pid, "p", ppid, user, system, cuser, csys, start)


def test_a_stat_line_is_read_past_a_command_name_with_spaces_and_parentheses():
    parsed = parse_proc_stat(stat_line(4242, "gunicorn: worker (web) )x", 4200, 150, 30, 7, 3, start=987))

    assert parsed == ProcStat(4242, "gunicorn: worker (web) )x", 4200, 150, 30, 7, 3, 987)
    assert (parsed.own_ticks, parsed.with_children_ticks) == (180, 190)


def test_resident_memory_is_read_in_kib_and_is_zero_without_a_vmrss_line():
    status = "Name:\tcelery\nVmPeak:\t  300000 kB\nVmRSS:\t  123456 kB\nThreads:\t3\n"

    assert parse_rss_kib(status) == 123456
    assert parse_rss_kib("Name:\tzombie\nState:\tZ (zombie)\n") == 0


def test_peak_memory_is_the_high_water_mark_not_the_resident_memory_now():
    status = "Name:\tcelery\nVmPeak:\t  900000 kB\nVmHWM:\t  234567 kB\nVmRSS:\t  123456 kB\n"

    assert (parse_peak_rss_kib(status), parse_rss_kib(status)) == (234567, 123456)
    assert parse_peak_rss_kib("Name:\tzombie\nState:\tZ (zombie)\n") == 0


def test_memory_is_read_as_resident_proportional_and_unshared_kib():
    rollup = (
        "5625003fb000-7ffed632a000 ---p 00000000 00:00 0                          [rollup]\n"
        "Rss:                1708 kB\nPss:                 242 kB\nPss_Dirty:           112 kB\n"
        "Shared_Clean:       1552 kB\nShared_Dirty:          0 kB\nPrivate_Clean:        44 kB\n"
        "Private_Dirty:       112 kB\nAnonymous:           112 kB\nSwap:                  0 kB\n"
    )

    assert parse_memory_kib(rollup) == (1708, 242, 156)
    assert parse_memory_kib("") == (0, 0, 0)


def test_the_machines_busy_time_leaves_out_idle_and_iowait():
    busy, total = parse_machine_cpu("cpu  100 5 20 800 50 3 2 1 9 0\ncpu0 1 2 3 4 5 6 7 8 9 0\n")

    assert (busy, total) == (131, 981)


def test_a_tree_is_its_root_and_everything_below_it_only():
    parents = {1: 0, 10: 1, 11: 10, 12: 10, 13: 12, 20: 1, 21: 20}

    assert sorted(descendants(parents, 10)) == [10, 11, 12, 13]
    assert descendants(parents, 99) == [99]


def test_a_trees_cpu_counts_a_reaped_child_once_through_its_parent():
    # The master (100) has reaped one worker already (its 40 ticks are in the master's children counts).
    stats = {100: stat(100, 1, 10, 2, cuser=30, csys=10), 101: stat(101, 100, 50, 5), 200: stat(200, 1, 999)}

    assert tree_ticks(stats, 100) == 10 + 2 + 30 + 10 + 50 + 5
    assert tree_ticks(stats, 300) == 0


def test_the_meter_adds_what_a_tree_used_between_samples_and_follows_a_restarted_root():
    readings = iter(
        [
            {100: stat(100, 1, 10), 101: stat(101, 100, 100)},
            # The worker ended and was reaped: its 120 ticks moved into the master's children counts.
            {100: stat(100, 1, 12, cuser=120)},
            # The master was restarted as 300, which has used 7 ticks so far.
            {300: stat(300, 1, 7)},
        ]
    )
    roots = iter([100, 100, 300])
    meter = CpuMeter(trees={"web": lambda: next(roots)}, loose={}, read=lambda: next(readings))

    meter.sample(first=True)
    meter.sample()
    assert meter.seconds()["web"] == (2 + 20) / CLOCK_TICKS
    meter.sample()
    assert meter.seconds()["web"] == (2 + 20 + 7) / CLOCK_TICKS


def test_the_meter_follows_loose_processes_one_by_one_and_counts_a_new_one_from_its_start():
    readings = iter(
        [
            {7: stat(7, 1, 100, start=5), 8: stat(8, 1, 50, start=5)},
            {7: stat(7, 1, 130, start=5), 9: stat(9, 1, 4, start=50)},
            # pid 7 was reused by a new process: its ticks so far are all new.
            {7: stat(7, 1, 3, start=90), 9: stat(9, 1, 10, start=50)},
        ]
    )
    found = iter([[7, 8], [7, 9], [7, 9]])
    meter = CpuMeter(trees={}, loose={"database": lambda: next(found)}, read=lambda: next(readings))

    meter.sample(first=True)
    meter.sample()
    meter.sample()

    assert meter.seconds()["database"] == (30 + 4 + 3 + 6) / CLOCK_TICKS


def test_percentiles_take_the_nearest_rank_and_latencies_are_summarised_in_milliseconds():
    values = [0.010 * n for n in range(1, 101)]

    assert percentile(values, 0.5) == values[50]
    assert percentile([], 0.5) == 0.0
    summary = latency_summary([0.1, 0.2, 0.3, 0.4])
    assert round(summary["p50_ms"], 6) == 300.0
    assert round(summary["max_ms"], 6) == 400.0
    assert round(summary["mean_ms"], 6) == 250.0


def test_a_ratio_without_a_denominator_is_none():
    assert ratio(46.0, 23.0) == 2.0
    assert ratio(46.0, 0) is None
    assert ratio(None, 23.0) is None


def test_a_table_aligns_its_columns_and_says_na_for_a_missing_figure():
    text = format_table("Title", ["c", "rps", "p50 ms"], [[1, 10.75, None], [32, 7.9, 3674.44]], note="a note")

    assert text.splitlines() == [
        "Title",
        "c    rps  p50 ms",
        "--  ----  ------",
        "1   10.8     n/a",
        "32   7.9  3674.4",
        "a note",
    ]


def test_a_url_is_pointed_at_another_local_port_keeping_its_user_database_and_options():
    assert (
        with_port("postgres://postgres@10.0.0.5:5432/ih_bench", 41000, "sslmode=disable")
        == "postgres://postgres@127.0.0.1:41000/ih_bench?sslmode=disable"
    )
    assert with_port("redis://127.0.0.1:6379/8", 41001) == "redis://127.0.0.1:41001/8"


def test_each_pair_of_redis_databases_has_its_own_lock_and_the_usual_pair_keeps_its_path():
    assert lock_path((8, 9)) == LOCK_PATH
    assert lock_path((4, 5)) == LOCK_PATH.with_name("incident-hub-bench-redis-4-5.lock")
    assert lock_path((4, 5)) != lock_path((5, 4))
