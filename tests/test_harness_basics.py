"""Waits, settings, names, cleanup: small parts, checked on their own."""

from __future__ import annotations

import pytest

from e2e.harness.cleanup import Cleanup, CleanupError
from e2e.harness.names import unique_name
from e2e.harness.settings import (
    DEFAULT_INSTANCE_FILTERS,
    SettingsError,
    Target,
    install_name,
    load_run_settings,
)
from e2e.harness.waits import (
    POLLS,
    WaitAborted,
    WaitTimeout,
    capped,
    set_deadline,
    set_poll_budget,
    wait_for,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_returns_when_done_and_counts_polls() -> None:
    clock = FakeClock()
    values = iter(["provisioning", "provisioning", "online"])
    out = wait_for(
        "x", lambda: next(values), lambda v: v == "online", timeout_s=5, poll_s=0.1,
        clock=clock, pause=clock.sleep,
    )  # fmt: skip
    assert out.value == "online" and out.polls == 3


def test_wait_first_look_comes_after_first_after_s_and_within_the_deadline() -> None:
    clock = FakeClock()
    looks: list[float] = []

    def observe() -> str:
        looks.append(clock.now)
        return "online" if len(looks) == 2 else "provisioning"

    wait_for(
        "x", observe, lambda v: v == "online", timeout_s=5, poll_s=0.1, first_after_s=0.3,
        clock=clock, pause=clock.sleep,
    )  # fmt: skip
    assert looks == pytest.approx([0.3, 0.4])
    clock.now, looks[:] = 0.0, []
    with pytest.raises(WaitTimeout):
        wait_for(
            "x", observe, lambda v: False, timeout_s=0.2, poll_s=0.1, first_after_s=9,
            clock=clock, pause=clock.sleep,
        )  # fmt: skip
    assert looks == [pytest.approx(0.2)]  # one look at the deadline, never a pause past it


def test_wait_timeout_says_what_it_last_saw() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimeout, match=r"last observed: status=offline") as info:
        wait_for(
            "ws online", lambda: "offline", lambda v: False, timeout_s=1, poll_s=0.1,
            describe=lambda v: f"status={v}", clock=clock, pause=clock.sleep,
        )  # fmt: skip
    assert info.value.last == "offline"
    assert clock.now <= 1.0 + 1e-9  # never sleeps past the deadline


def test_wait_treats_transient_errors_as_not_yet_and_reports_them() -> None:
    clock = FakeClock()

    def observe() -> str:
        raise ConnectionError("refused")

    with pytest.raises(WaitTimeout, match="ConnectionError: refused"):
        wait_for(
            "x", observe, lambda v: True, timeout_s=0.5, poll_s=0.1,
            transient=(ConnectionError,), clock=clock, pause=clock.sleep,
        )  # fmt: skip


def test_wait_aborts_early_with_the_reason() -> None:
    with pytest.raises(WaitAborted, match="workspace is failed"):
        wait_for(
            "x", lambda: "failed", lambda v: False, timeout_s=60, poll_s=0.01,
            abort=lambda v: f"workspace is {v}" if v == "failed" else None,
        )  # fmt: skip


def test_settings_defaults_and_validation() -> None:
    s = load_run_settings(env={})
    assert s.target == "embedded" and s.profile.name == "fast" and s.restarts == 3
    assert s.plugin_source == "local://seo-all" and s.plugin_name == "seo-all"
    assert s.instance_filters == DEFAULT_INSTANCE_FILTERS and not s.keep and s.run_id
    assert s.box_channel == "ssm" and s.require_reconcile  # the reference always reconciles
    staging = load_run_settings(env={"E2E_TARGET": "staging", "E2E_KEEP": "1"})
    assert staging.profile.name == "staging" and staging.keep
    assert not staging.require_reconcile  # whether staging reconciles is what the run finds out
    both = load_run_settings(
        env={"E2E_BOX_CHANNEL": "both", "E2E_PLUGIN_SOURCE": "gitea://o/r/x#main"}
    )
    assert both.box_channel == "both" and both.plugin_name == "x"
    opts = load_run_settings(env={"E2E_RESTARTS": "5"}, options={"restarts": 1, "run_id": "R1"})
    assert opts.restarts == 1 and opts.run_id == "r1"
    for bad in ({"E2E_TARGET": "prod"}, {"E2E_PROFILE": "slow"}, {"E2E_RESTARTS": "-1"},
                {"E2E_RUN_ID": "has space"}, {"E2E_BOX_CHANNEL": "http"}):  # fmt: skip
        with pytest.raises(SettingsError):
            load_run_settings(env=bad)


def test_global_deadline_caps_every_wait_and_teardown_waits_get_the_reserve() -> None:
    s = load_run_settings(env={"E2E_DEADLINE_S": "100"})
    assert s.teardown_reserve_s == 10.0
    test_at, teardown_at = s.deadlines()
    assert test_at is not None and teardown_at is not None and teardown_at - test_at == 10.0
    set_deadline(test_at, teardown_at)
    try:
        assert 80 < capped(1000) <= 90 and capped(5) == 5
        assert 90 < capped(1000, teardown=True) <= 100
        with pytest.raises(WaitTimeout, match="deadline cut to"):
            wait_for("x", lambda: 0, bool, timeout_s=1000, poll_s=1, clock=lambda: teardown_at)
    finally:
        set_deadline(None, None)


def test_target_from_env_names_what_is_missing_and_hides_secrets() -> None:
    with pytest.raises(SettingsError, match="E2E_ADMIN_TOKEN, E2E_ORG_ID"):
        Target.from_env("staging", {"E2E_PLATFORM_URL": "https://x"})
    env = {"E2E_PLATFORM_URL": "https://x/", "E2E_ADMIN_TOKEN": "tok-123456", "E2E_ORG_ID": "o"}
    staging = Target.from_env("staging", env)
    assert staging.aws_endpoint_url is None and staging.platform_url == "https://x"
    assert "tok-123456" not in repr(staging)
    with pytest.raises(SettingsError, match="AWS_ENDPOINT_URL"):
        Target.from_env("external", env)


def test_names_carry_run_and_worker_and_stay_short() -> None:
    a, b = unique_name("r1", "gw1", "gate"), unique_name("r1", "gw1", "gate")
    assert a.startswith("e2e-r1-gw1-gate-") and a != b
    long = unique_name("0123456789abcdef", "gw12", "x" * 100)
    assert len(long) <= 63 and long.startswith("e2e-0123456789abcdef-gw12-")


def test_cleanup_runs_lifo_continues_after_errors_and_keeps_on_request() -> None:
    order: list[str] = []
    c = Cleanup()
    c.register("a", lambda: order.append("a"))
    c.register("b", lambda: 1 / 0)
    c.register("c", lambda: order.append("c"))
    with pytest.raises(CleanupError, match="b: ZeroDivisionError"):
        c.run()
    assert order == ["c", "a"] and len(c) == 0
    kept = Cleanup(keep=True)
    kept.register("ws", lambda: order.append("deleted"))
    kept.run()
    assert kept.kept == ["ws"] and "deleted" not in order


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("local://seo-all", "seo-all"),
        ("seo-all", "seo-all"),
        ("github://acme/linter#v2", "linter"),
        ("gitea://molecule/agent-skills/seo-all#main", "seo-all"),
        ("gitea://molecule/agent-skills/seo-all/", "seo-all"),
    ],
)
def test_a_plugin_sources_install_name_is_its_last_path_segment(source: str, name: str) -> None:
    assert install_name(source) == name


def test_waits_side_by_side_share_the_poll_budget() -> None:
    """With a budget of 10 polls a second and 5 waits running, each wait polls at most every
    0.5 s; with no budget set, only its own interval counts."""
    pauses: list[float] = []
    looks = iter(range(3))
    POLLS.active = 4  # four other waits are running
    try:
        set_poll_budget(10.0)
        wait_for(
            "x", lambda: next(looks), lambda n: n == 2, timeout_s=100, poll_s=0.01,
            clock=lambda: 0.0, pause=pauses.append,
        )  # fmt: skip
        assert pauses == [0.5, 0.5]
        assert POLLS.active == 4  # the wait counted itself only while it ran
        set_poll_budget(None)
        pauses.clear()
        looks = iter(range(3))
        wait_for(
            "x", lambda: next(looks), lambda n: n == 2, timeout_s=100, poll_s=0.01,
            clock=lambda: 0.0, pause=pauses.append,
        )  # fmt: skip
        assert pauses == [0.01, 0.01]
    finally:
        POLLS.active = 0
        set_poll_budget(None)
