"""The host app's own HTTP stack does the sending: a transport written in Python carries every
request; when it raises, nothing is lost and the batch is sent by a later upload."""

import time
import urllib.error
import urllib.request

import ldp_telemetry


class UrllibTransport(ldp_telemetry.HostTransport):
    """What an app would write over its HTTP library (urllib here)."""

    def __init__(self):
        self.requests = []
        self.failed_bodies = []
        self.fail = False

    def send(self, request):
        self.requests.append((request.method, request.url, bytes(request.body)))
        if self.fail:
            if request.method == "POST":
                self.failed_bodies.append(bytes(request.body))
            raise ConnectionError("the network is down")
        req = urllib.request.Request(
            request.url, data=bytes(request.body) if request.body else None, method=request.method,
            headers={h.name: h.value for h in request.headers},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:
                return ldp_telemetry.HostResponse(status=answer.status, body=answer.read())
        except urllib.error.HTTPError as refused:
            return ldp_telemetry.HostResponse(status=refused.code, body=refused.read())


def test_a_transport_written_in_python_carries_every_request(collector, tmp_path):
    collector.create_campaign({
        "id": "py-host", "mechanism": "grr", "epsilon": 1.0,
        "domain": {"range": {"k": 4}}, "epoch_seconds": 2, "max_reports_per_epoch": 10,
        "min_reports": 10,
    })
    transport = UrllibTransport()
    client = ldp_telemetry.Client.open_with_transport(
        str(tmp_path / "device"), collector.url,
        ldp_telemetry.ClientOptions(release_window_seconds=0, retry_base_seconds=1), transport,
    )
    for i in range(10):
        client.record_index("py-host", i % 4)
    assert transport.requests == [("GET", f"{collector.url}/v1/campaigns/py-host", b"")]

    # The epoch ends; the host's network fails: an error value, the batch kept.
    time.sleep(2.5)
    transport.fail = True
    summary = client.upload_pending()
    assert summary.reports_sent == 0 and summary.reports_waiting == 10
    assert "network is down" in summary.error

    # The network is back; after the backoff the identical batch goes out.
    transport.fail = False
    polls = 0  # bounded, so a bug cannot hang the run
    while client.upload_pending().reports_waiting:
        polls += 1
        assert polls < 150
        time.sleep(0.2)
    assert collector.estimates("py-host")["n"] == 10
    # What failed was resent byte for byte.
    sent = {body for method, _, body in transport.requests if method == "POST"}
    assert transport.failed_bodies and set(transport.failed_bodies) <= sent
