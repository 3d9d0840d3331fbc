import pytest
import responses

from system_apis.errors import SystemRateLimited, SystemUnavailable
from system_apis.http import HttpClient


@responses.activate
@pytest.mark.parametrize(("status", "kind"), [(429, SystemRateLimited), (503, SystemUnavailable)])
def test_retry_after_is_kept_on_a_429_and_on_a_503(status, kind):
    responses.add(responses.GET, "https://system.test/thing", status=status, headers={"Retry-After": "7"})

    with pytest.raises(kind) as raised:
        HttpClient(base_url="https://system.test", timeout=(1, 1))._request("GET", "thing", operation="read")

    assert raised.value.retry_after == 7.0
