"""bench/tls_connections.py runs end to end: both ways connect over verified TLS and are measured."""

import json

from bench.tls_connections import WAYS, main


def test_the_tls_bench_measures_both_ways_over_verified_connections(tmp_path, capsys):
    out = tmp_path / "tls.json"

    assert main(["--threads", "2", "--rounds", "1", "--json", str(out)]) == 0

    figures = json.loads(out.read_text())
    assert [row["way"] for row in figures["ways"]] == list(WAYS)
    for row in figures["ways"]:
        assert row["connections"] == 2 * 2 * 2
        assert row["open_connections"] == 4
        assert row["cpu_ms_per_connection"] > 0
    assert "PooledSession" in capsys.readouterr().out
