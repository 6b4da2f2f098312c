"""``sojourn sessions list | show | revoke`` against real stores."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from sojourn.cli._commands import cli
from tests.cli.conftest import Backend, unique


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_walks_the_store_and_skips_markers_and_expired(backend: Backend) -> None:
    alice = unique("alice")
    mine = {backend.add(alice, meta={"user_agent": "Firefox/1", "ip": "10.0.0.1"})}
    mine.add(backend.add(None))
    marker = backend.add_marker()
    gone = backend.add(alice, ttl=-10)
    data = as_json(invoke("sessions", "list", "--store", backend.url, "--limit", "0", "--json"))
    listed = {row["fingerprint"]: row for row in data["sessions"]}
    assert mine <= set(listed)
    assert marker not in listed
    assert gone not in listed
    row = next(r for r in data["sessions"] if r["principal"] == alice)
    assert (row["user_agent"], row["ip"]) == ("Firefox/1", "10.0.0.1")
    assert set(row) >= {"created_at", "last_seen_at", "expires_at"}


def test_list_never_prints_a_store_key(backend: Backend) -> None:
    backend.add(unique("carol"))
    result = invoke("sessions", "list", "--store", backend.url)
    assert result.exit_code == 0, result.output
    assert all(key not in result.output for key in backend.keys)
    assert "live session(s)" in result.output


def test_list_by_user_reads_only_that_users_sessions(backend: Backend) -> None:
    bob, eve = unique("bob"), unique("eve")
    bobs = {backend.add(bob), backend.add(bob, age=100)}
    backend.add(eve)
    data = as_json(invoke("sessions", "list", "--store", backend.url, "--user", bob, "--json"))
    assert {r["fingerprint"] for r in data["sessions"]} == bobs
    assert data["total"] == 2


def test_list_limit_keeps_the_most_recently_seen(backend: Backend) -> None:
    dave = unique("dave")
    recent = backend.add(dave, idle=1)
    backend.add(dave, idle=500)
    backend.add(dave, idle=900)
    data = as_json(
        invoke("sessions", "list", "--store", backend.url, "--user", dave, "--limit", "1", "--json")
    )
    assert [r["fingerprint"] for r in data["sessions"]] == [recent]
    assert data["total"] == 3


def test_show_prints_key_names_and_sizes_not_values(backend: Backend) -> None:
    frank = unique("frank")
    label = backend.add(frank, fields={"csrf": b'"s3cr3t-token"', "cart": b"[1,2]"})
    for extra in ([], ["--user", frank]):
        result = invoke("sessions", "show", label, "--store", backend.url, *extra)
        assert result.exit_code == 0, result.output
        assert "csrf (14 B)" in result.output
        assert "cart (5 B)" in result.output
        assert "s3cr3t" not in result.output
        assert frank in result.output


def test_show_values_only_when_asked(backend: Backend) -> None:
    label = backend.add(None, fields={"csrf": b'"s3cr3t-token"'})
    data = as_json(invoke("sessions", "show", label, "--store", backend.url, "--values", "--json"))
    assert data["values"] == {"csrf": '"s3cr3t-token"'}
    assert data["keys"] == {"csrf": 14}


def test_show_an_unknown_fingerprint_fails(backend: Backend) -> None:
    backend.add(None)
    result = invoke("sessions", "show", "0123456789ab", "--store", backend.url)
    assert result.exit_code == 1
    assert "no live session with fingerprint 0123456789ab" in result.output


def test_show_refuses_what_is_not_a_fingerprint(backend: Backend) -> None:
    result = invoke("sessions", "show", "not-a-label", "--store", backend.url)
    assert result.exit_code == 2
    assert "12 hexadecimal" in result.output


def test_revoke_one_session(backend: Backend) -> None:
    gina = unique("gina")
    doomed, kept = backend.add(gina), backend.add(gina)
    result = invoke("sessions", "revoke", doomed, "--user", gina, "--store", backend.url)
    assert result.exit_code == 0, result.output
    assert "revoked 1 session(s)" in result.output
    assert not backend.live(doomed)
    assert backend.live(kept)


def test_revoke_all_except_one(backend: Backend) -> None:
    hal, other = unique("hal"), unique("other")
    sessions = [backend.add(hal) for _ in range(3)]
    bystander = backend.add(other)
    args = ["--all", "--except", sessions[1], "--user", hal, "--store", backend.url, "--json"]
    data = as_json(invoke("sessions", "revoke", *args))
    assert data["revoked"] == 2
    assert [backend.live(s) for s in sessions] == [False, True, False]
    assert backend.live(bystander)


def test_revoke_all_with_a_mistyped_except_revokes_nothing(backend: Backend) -> None:
    ivy = unique("ivy")
    sessions = [backend.add(ivy) for _ in range(2)]
    result = invoke(
        "sessions", "revoke", "--all", "--except", "0123456789ab", "--user", ivy,
        "--store", backend.url,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "nothing revoked" in result.output
    assert all(backend.live(s) for s in sessions)


def test_revoke_an_unknown_fingerprint_fails(backend: Backend) -> None:
    jo = unique("jo")
    mine = backend.add(jo)
    result = invoke("sessions", "revoke", "0123456789ab", "--user", jo, "--store", backend.url)
    assert result.exit_code == 1
    assert backend.live(mine)


def test_revoke_needs_exactly_one_target(sqlite: Backend) -> None:
    label = sqlite.add("kim")
    for args in ([], [label, "--all"], [label, "--except", label]):
        result = invoke("sessions", "revoke", *args, "--user", "kim", "--store", sqlite.url)
        assert result.exit_code == 2, (args, result.output)
    assert sqlite.live(label)


def test_the_store_url_comes_from_the_environment(sqlite: Backend) -> None:
    label = sqlite.add("lee")
    data = as_json(invoke("sessions", "list", "--json", env={"SOJOURN_STORE_URL": sqlite.url}))
    assert [r["fingerprint"] for r in data["sessions"]] == [label]


def test_a_corrupt_record_is_one_warning_and_the_walk_goes_on(sqlite: Backend) -> None:
    import sqlite3

    good = sqlite.add("mo")
    bad = sqlite.add("mo")
    sqlite.store.close()
    with sqlite3.connect(sqlite.url.removeprefix("sqlite:///")) as conn:
        conn.execute(
            "UPDATE sojourn_sessions SET meta = 'not json' WHERE key = ?", (sqlite.keys[1],)
        )
    result = CliRunner().invoke(cli, ["sessions", "list", "--store", sqlite.url, "--json"])
    assert result.exit_code == 0, result.output
    listed = [r["fingerprint"] for r in json.loads(result.stdout)["sessions"]]
    assert listed == [good]
    assert bad not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line]
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: scan skipped a corrupt session record")


def test_stored_text_is_printed_as_text_not_markup(sqlite: Backend) -> None:
    sqlite.add("[red]root[/red]", meta={"user_agent": "UA [bold]x[/bold]", "ip": "::1"})
    result = invoke("sessions", "list", "--store", sqlite.url)
    assert result.exit_code == 0, result.output
    assert "[red]root[/red]" in result.output
    assert "UA [bold]x[/bold]" in result.output


def test_show_keeps_a_sessions_own_timing_apart_from_its_metadata(backend: Backend) -> None:
    meta = {"user_agent": "Firefox/1", "sojourn:remember": "1", "sojourn:lifetime": "86400.0"}
    label = backend.add(unique("gina"), meta=meta)
    data = as_json(invoke("sessions", "show", label, "--store", backend.url, "--json"))
    assert data["meta"] == {"user_agent": "Firefox/1"}
    assert data["timing"] == {"sojourn:remember": "1", "sojourn:lifetime": "86400.0"}
    listed = as_json(invoke("sessions", "list", "--store", backend.url, "--limit", "0", "--json"))
    row = next(r for r in listed["sessions"] if r["fingerprint"] == label)
    assert "sojourn:remember" not in json.dumps(row)


def test_show_leaves_a_bindings_marks_out_of_the_metadata(backend: Backend) -> None:
    meta = {"user_agent": "Firefox/1", "_bound_ua": "Firefox/Windows", "_bound_ip": "10.0.0.0/24"}
    label = backend.add(unique("grace"), meta=meta)
    data = as_json(invoke("sessions", "show", label, "--store", backend.url, "--json"))
    assert data["meta"] == {"user_agent": "Firefox/1"}
    result = invoke("sessions", "show", label, "--store", backend.url)
    assert result.exit_code == 0, result.output
    assert "Firefox/1" in result.output
    assert "_bound" not in result.output
    assert "10.0.0.0/24" not in result.output
