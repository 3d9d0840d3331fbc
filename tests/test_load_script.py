"""The load script's reconciliation, on made-up observations (no load is run)."""

import json

from bench.load import parse_args, reconcile, slack_texts

RUN = "load-20261122031755-459a87"
M_A, M_B, M_C = f"{RUN}-00000", f"{RUN}-00001", f"{RUN}-00002"
REF_A, REF_B, REF_C = "IH-AAAAAAAAAA", "IH-BBBBBBBBBB", "IH-CCCCCCCCCC"
ACCEPTED = {M_A: REF_A, M_B: REF_B, M_C: REF_C}
ALL_LOCAL = [(REF_A, M_A), (REF_B, M_B), (REF_C, M_C)]


def incident(reference: str, marker: str) -> tuple[str, str]:
    """A ServiceNow incident as the script reads it: (correlation_id, short description)."""
    return reference, f"Load test {marker}"


def notice(reference: str, marker: str) -> str:
    """A Slack notice as Incident Hub posts it: the description as text, the reference in a field and the context."""
    blocks = [
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*Reference*\n{reference}"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Incident Hub · {reference}"}]},
    ]
    return f"Report {marker} of a load run; nothing to do." + json.dumps(blocks)


ALL_SERVICENOW = [incident(REF_A, M_A), incident(REF_B, M_B), incident(REF_C, M_C)]
ALL_SLACK = [notice(REF_A, M_A), notice(REF_B, M_B), notice(REF_C, M_C)]


def test_everything_once_everywhere_is_neither_lost_nor_duplicated():
    result = reconcile(
        accepted=ACCEPTED,
        local=ALL_LOCAL,
        servicenow=[*ALL_SERVICENOW, ("IH-0THERRUN00", "Parcel never arrived"), ("", "")],
        slack=[*ALL_SLACK, "someone else's message"],
    )

    assert (result.accepted, result.lost, result.duplicated, result.unconfirmed) == (3, {}, {}, [])


def test_a_report_missing_in_a_system_is_lost_there():
    result = reconcile(
        accepted=ACCEPTED,
        local=[(REF_A, M_A), (REF_B, M_B)],
        servicenow=[incident(REF_A, M_A), incident(REF_C, M_C)],
        slack=[notice(REF_A, M_A)],
    )

    assert result.lost == {REF_B: ["servicenow", "slack"], REF_C: ["local", "slack"]}
    assert result.duplicated == {}
    assert result.counts_by_system(result.lost) == {"servicenow": 1, "slack": 2, "local": 1}


def test_a_report_found_twice_in_a_system_is_duplicated_there():
    result = reconcile(
        accepted=ACCEPTED,
        local=ALL_LOCAL,
        servicenow=[*ALL_SERVICENOW, incident(REF_A, M_A)],
        slack=[*ALL_SLACK, notice(REF_C, M_C)],
    )

    assert result.duplicated == {REF_A: ["servicenow"], REF_C: ["slack"]}
    assert result.lost == {}


def test_the_same_report_stored_again_under_a_second_reference_is_duplicated_everywhere_it_went():
    # A retry whose key was not recognised: a second report, its own incident and its own notice.
    result = reconcile(
        accepted=ACCEPTED,
        local=[*ALL_LOCAL, ("IH-DDDDDDDDDD", M_B)],
        servicenow=[*ALL_SERVICENOW, incident("IH-DDDDDDDDDD", M_B)],
        slack=[*ALL_SLACK, notice("IH-DDDDDDDDDD", M_B)],
    )

    assert result.duplicated == {REF_B: ["local", "servicenow", "slack"]}
    assert result.lost == {}


def test_a_report_both_missing_and_doubled_counts_in_both():
    result = reconcile(accepted={M_A: REF_A}, local=[(REF_A, M_A)], servicenow=[incident(REF_A, M_A)] * 2, slack=[])

    assert (result.lost, result.duplicated) == ({REF_A: ["slack"]}, {REF_A: ["servicenow"]})


def test_a_local_record_under_another_reference_does_not_stand_for_the_accepted_one():
    result = reconcile(
        accepted={M_A: REF_A},
        local=[("IH-DDDDDDDDDD", M_A)],
        servicenow=[incident(REF_A, M_A)],
        slack=[notice(REF_A, M_A)],
    )

    assert result.lost == {REF_A: ["local"]}


def test_a_report_stored_without_a_201_reaching_the_client_is_unconfirmed_not_lost():
    result = reconcile(
        accepted={M_A: REF_A},
        local=[(REF_A, M_A), (REF_B, M_B)],
        servicenow=[incident(REF_A, M_A), incident(REF_B, M_B)],
        slack=[notice(REF_A, M_A), notice(REF_B, M_B)],
        submitted=[M_A, M_B, M_C],
    )

    assert (result.accepted, result.lost, result.duplicated, result.unconfirmed) == (1, {}, {}, [M_B])


def test_thread_replies_are_not_counted_as_a_second_notice():
    messages = [
        {"text": f"Report {M_A}", "blocks": [{"type": "context", "text": REF_A}], "thread_ts": None},
        {"text": f"{REF_A} ({M_A}) now has its number", "blocks": [], "thread_ts": "1700000000.000100"},
    ]

    texts = slack_texts(messages)

    result = reconcile(accepted={M_A: REF_A}, local=[(REF_A, M_A)], servicenow=[incident(REF_A, M_A)], slack=texts)
    assert (result.lost, result.duplicated) == ({}, {})


def test_the_load_spreads_over_several_web_processes_and_sends_a_proxys_headers():
    args = parse_args(
        ["--web", "http://127.0.0.1:8000/, http://127.0.0.1:8002", "--header", "X-Forwarded-Proto: https"]
    )

    assert args.webs == ["http://127.0.0.1:8000", "http://127.0.0.1:8002"]
    assert args.web == "http://127.0.0.1:8000"
    assert args.headers == {"X-Forwarded-Proto": "https"}
