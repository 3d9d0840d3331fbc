"""The Slack consumer is the proof of the layers: it is built on the Process APIs and the kernel, nothing else of
Incident Hub's (the other consumers, the System APIs, operations and the site are out of its reach)."""

import grimp
import pytest

OUR_PACKAGES = ("experience_apis", "process_apis", "system_apis", "kernel", "operations", "incidents_site", "sandbox")
ALLOWED = ("process_apis", "kernel")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*OUR_PACKAGES, include_external_packages=False)


def imports_beyond_the_process_apis(graph, package: str) -> list[str]:
    """Every import of ours that a module of `package` makes outside itself, the Process APIs and the kernel."""
    modules = graph.find_descendants(package) | {package}
    return sorted(
        f"{module} imports {imported}"
        for module in modules
        for imported in graph.find_modules_directly_imported_by(module)
        if imported not in modules and imported.split(".")[0] in OUR_PACKAGES and imported.split(".")[0] not in ALLOWED
    )


def test_the_slack_consumer_imports_only_the_process_apis_and_the_kernel(graph):
    assert len(graph.find_descendants("experience_apis.slack")) >= 5
    assert imports_beyond_the_process_apis(graph, "experience_apis.slack") == []


def test_the_check_finds_a_consumer_that_leans_on_another_one(graph):
    # REST v1 uses the experience layer's own clients and idempotency: the check says so.
    assert "experience_apis.rest.api imports experience_apis.idempotency.rest" in imports_beyond_the_process_apis(
        graph, "experience_apis.rest"
    )
