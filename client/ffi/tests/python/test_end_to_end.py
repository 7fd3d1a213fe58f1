"""20,000 values through the Python API to the real collector; the estimates agree with the
truth within 5 standard errors."""

import random
import time

import ldp_telemetry
import pytest

K = 8
DEVICES = 20
PER_DEVICE = 1000  # the campaign's allowance per device and epoch


def wait_until_sent(clients, polls=300):
    """Uploads until every outbox is empty (at most `polls` rounds, so a bug cannot hang)."""
    sent = 0
    while True:
        waiting = 0
        for client in clients:
            summary = client.upload_pending()
            sent += summary.reports_sent
            waiting += summary.reports_waiting
        if waiting == 0:
            return sent
        polls -= 1
        assert polls > 0, f"{waiting} reports still waiting"
        time.sleep(0.2)


def test_twenty_thousand_values_are_estimated_within_five_standard_errors(collector, tmp_path):
    collector.create_campaign({
        "id": "py-levels", "mechanism": "grr", "epsilon": 2.0,
        "domain": {"range": {"k": K}}, "epoch_seconds": 2, "max_reports_per_epoch": PER_DEVICE,
    })
    options = ldp_telemetry.ClientOptions(release_window_seconds=1)
    clients = [
        ldp_telemetry.Client.open_with_options(str(tmp_path / f"device-{d}"), collector.url, options)
        for d in range(DEVICES)
    ]
    # A fixed, skewed truth: value i is chosen with weight K − i.
    rng = random.Random(20261129)
    truth = [0] * K
    for client in clients:
        for _ in range(PER_DEVICE):
            value = rng.choices(range(K), weights=range(K, 0, -1))[0]
            client.record_index("py-levels", value)
            truth[value] += 1
    assert sum(truth) == DEVICES * PER_DEVICE
    spent = sum(c.privacy_spent("py-levels").lifetime_reports for c in clients)
    assert spent == DEVICES * PER_DEVICE

    assert wait_until_sent(clients) == DEVICES * PER_DEVICE
    estimates = collector.estimates("py-levels")
    assert estimates["n"] == DEVICES * PER_DEVICE
    for row in estimates["values"]:
        error = abs(row["count"] - truth[row["index"]])
        assert error <= 5 * row["std_error"], (row, truth)


def test_refusals_are_exceptions_and_write_nothing(collector, tmp_path):
    collector.create_campaign({
        "id": "py-volume", "mechanism": "duchi", "epsilon": 1.0,
        "domain": {"numeric": {"lo": 0.0, "hi": 10.0}}, "max_reports_per_epoch": 1,
    })
    client = ldp_telemetry.Client.open(str(tmp_path / "device"), collector.url)
    with pytest.raises(ldp_telemetry.LdpError.UnknownCampaign):
        client.record("no-such-campaign", "x")
    with pytest.raises(ldp_telemetry.LdpError.NumberOutOfRange):
        client.record_number("py-volume", 11.0)
    with pytest.raises(ldp_telemetry.LdpError.NumberOutOfRange):
        client.record_number("py-volume", float("nan"))
    assert client.privacy_spent("py-volume").lifetime_reports == 0
    client.record_number("py-volume", 4.5)
    client.flush()  # written now rather than moments later; nothing to see but no error
    with pytest.raises(ldp_telemetry.LdpError.BudgetExhausted) as refused:
        client.record_number("py-volume", 5.5)
    assert "py-volume" in str(refused.value)
    spent = client.privacy_spent("py-volume")
    assert spent.lifetime_reports == 1 and 0 < spent.lifetime_epsilon <= 1.0 + 1e-9
    with pytest.raises(ldp_telemetry.LdpError.InvalidArgument):
        ldp_telemetry.Client.open(str(tmp_path / "other"), "ftp://nowhere")
    # Opting out deletes what waits and stops recording; the choice persists.
    client.set_upload_enabled(False)
    # One client per data directory at a time: close the first (no garbage collector needed),
    # after which it refuses every call.
    client.close()
    with pytest.raises(ldp_telemetry.LdpError.InvalidArgument):
        client.record_number("py-volume", 1.0)
    client.close()
    again = ldp_telemetry.Client.open(str(tmp_path / "device"), collector.url)
    assert not again.upload_enabled()
    assert again.upload_pending().reports_waiting == 0
    # The ledger outlives opting out: the budget spent stays spent.
    assert again.privacy_spent("py-volume").lifetime_reports == 1
