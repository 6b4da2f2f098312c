"""The pure engine: what a commit does for each end-of-request state (table-tested)."""

from __future__ import annotations

import pytest

from sojourn import Engine, Policy, SessionTooLarge, UnencodableValue, new_session_id
from sojourn._core.codec import JSON, CodecLimits
from sojourn._core.ids import marker_key, store_key
from sojourn._core.plan import Apply, Create, Delete, Mark, Rename
from sojourn._core.session import Session
from sojourn.stores.base import Record

NOW = 1_000_000.0


def stored(engine: Engine, **fields: bytes) -> tuple[str, Session]:
    session_id = new_session_id()
    record = Record(
        key=store_key(session_id),
        fields=fields or {"a": b"1"},
        principal=None,
        created_at=NOW,
        renewed_at=NOW,
        expires_at=NOW + engine.policy.idle_timeout,
    )
    return session_id, engine.open(session_id, record, NOW)


@pytest.mark.sec("SEC-06")
def test_an_untouched_session_commits_nothing() -> None:
    engine = Engine()
    _, session = stored(engine)
    assert engine.close(session, NOW).empty
    assert engine.close(engine.new(NOW), NOW).empty


@pytest.mark.sec("SEC-17", "SEC-47")
def test_reading_adds_vary_but_writes_nothing() -> None:
    engine = Engine()
    _, session = stored(engine)
    assert session["a"] == 1
    commit = engine.close(session, NOW + 1)
    assert commit.ops == ()
    assert commit.headers == ()
    assert commit.vary == "Cookie"


@pytest.mark.sec("SEC-05", "SEC-45")
def test_a_new_session_with_data_is_created_with_a_fresh_id() -> None:
    ids = iter([new_session_id()])
    engine = Engine(id_factory=lambda: next(ids))
    session = engine.new(NOW)
    session["x"] = [1]
    commit = engine.close(session, NOW)
    (op,) = commit.ops
    assert isinstance(op, Create)
    assert op.record.fields == {"x": b"[1]"}
    assert op.record.expires_at == NOW + 1800
    assert commit.issued_id is not None
    assert op.record.key == store_key(commit.issued_id)
    assert commit.headers[0][1].startswith(f"__Host-sid={commit.issued_id};")


@pytest.mark.sec("SEC-06")
def test_an_empty_new_session_is_never_stored() -> None:
    engine = Engine()
    session = engine.new(NOW)
    session["x"] = 1
    del session["x"]
    commit = engine.close(session, NOW)
    assert commit.ops == ()
    assert commit.headers == ()


@pytest.mark.sec("SEC-47")
def test_only_changed_keys_are_applied() -> None:
    engine = Engine()
    _, session = stored(engine, a=b"1", b=b"2", c=b"[1]")
    session["a"] = 1  # same value: not a change
    session["b"] = 3
    del session["c"]
    session["d"] = "new"
    (op,) = engine.close(session, NOW + 5).ops
    assert isinstance(op, Apply)
    assert dict(op.changes.set) == {"b": b"3", "d": b'"new"'}
    assert op.changes.remove == frozenset({"c"})
    assert op.changes.expires_at == NOW + 5 + 1800


def test_in_place_edits_are_detected() -> None:
    engine = Engine()
    _, session = stored(engine, cart=b"[]")
    session["cart"].append("x")
    (op,) = engine.close(session, NOW).ops
    assert isinstance(op, Apply)
    assert dict(op.changes.set) == {"cart": b'["x"]'}


@pytest.mark.sec("SEC-07", "SEC-09")
def test_login_renames_marks_then_applies_with_the_principal() -> None:
    engine = Engine()
    session_id, session = stored(engine)
    session.login("alice")
    commit = engine.close(session, NOW + 3)
    rename, mark, apply = commit.ops
    assert isinstance(rename, Rename)
    assert isinstance(mark, Mark)
    assert isinstance(apply, Apply)
    assert rename.old == store_key(session_id)
    assert apply.key == rename.new != rename.old
    assert apply.changes.login is not None
    assert apply.changes.login.principal == "alice"
    assert commit.writes  # a login found gone must be redone, never answered as done
    # The marker names the successor by its store key only, holds no data and no principal.
    assert mark.record.key == marker_key(rename.old)
    assert mark.record.meta == {"rotation": "login", "successor": rename.new}
    assert mark.record.fields == {}
    assert mark.record.principal is None
    assert commit.issued_id is not None
    assert session_id not in repr(mark.record)
    assert commit.issued_id not in repr(mark.record)


@pytest.mark.sec("SEC-25")
def test_invalidate_deletes_and_clears() -> None:
    engine = Engine()
    session_id, session = stored(engine)
    session.invalidate()
    commit = engine.close(session, NOW)
    assert commit.ops == (Delete(store_key(session_id)),)
    assert commit.headers[0][1].startswith("__Host-sid=; Max-Age=0")


def test_writing_after_invalidate_starts_a_new_session() -> None:
    engine = Engine()
    session_id, session = stored(engine)
    session.invalidate()
    session["flash"] = "bye"
    commit = engine.close(session, NOW)
    delete, create = commit.ops
    assert delete == Delete(store_key(session_id))
    assert isinstance(create, Create)
    assert len([h for h in commit.headers if h[0] == "set-cookie"]) == 1


def test_emptying_a_stored_session_deletes_it() -> None:
    engine = Engine()
    session_id, session = stored(engine)
    session.clear()
    assert engine.close(session, NOW).ops == (Delete(store_key(session_id)),)


def test_a_read_past_the_renewal_interval_touches_nothing_the_store_renewed() -> None:
    engine = Engine(policy=Policy(idle_timeout=100, lifetime=1000, renew_interval=10))
    _, session = stored(engine)
    session.get("a")
    assert engine.close(session, NOW + 50).ops != ()  # renewal due: a touch is planned
    _, fresh = stored(engine)
    fresh.get("a")
    assert engine.close(fresh, NOW + 5).ops == ()


@pytest.mark.sec("SEC-20", "SEC-21")
def test_a_record_dead_by_policy_is_not_served_and_is_deleted() -> None:
    engine = Engine(policy=Policy(idle_timeout=10, lifetime=20))
    session_id = new_session_id()
    record = Record(store_key(session_id), {"a": b"1"}, None, NOW, NOW, NOW + 500)
    session = engine.open(session_id, record, NOW + 30)
    assert session.is_new
    assert dict(session) == {}
    assert engine.close(session, NOW + 30).ops == (Delete(record.key),)


@pytest.mark.sec("SEC-39")
def test_corrupt_data_gives_a_fresh_session(caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine()
    session_id = new_session_id()
    record = Record(store_key(session_id), {"a": b"{nope"}, None, NOW, NOW, NOW + 50)
    session = engine.open(session_id, record, NOW)
    assert session.is_new
    assert "session.corrupt" in caplog.text
    assert session_id not in caplog.text


@pytest.mark.sec("SEC-40")
def test_size_limit_is_enforced_at_commit() -> None:
    engine = Engine(limits=CodecLimits(max_session_bytes=10))
    session = engine.new(NOW)
    session["a"] = "x" * 20
    with pytest.raises(SessionTooLarge, match="10 bytes"):
        engine.close(session, NOW)


@pytest.mark.sec("SEC-38")
def test_non_json_values_fail_at_assignment() -> None:
    session = Engine().new(NOW)
    with pytest.raises(UnencodableValue, match="'when'"):
        session["when"] = {1, 2}
    with pytest.raises(UnencodableValue):
        session[1] = "x"  # type: ignore[index]


@pytest.mark.sec("SEC-43", "SEC-51")
def test_candidates_are_validated_deduplicated_and_capped() -> None:
    engine = Engine()
    ids = [new_session_id() for _ in range(5)]
    found = engine.candidates(["junk", ids[0], ids[0], *ids[1:]])
    assert [i for i, _ in found] == ids[:3]


@pytest.mark.sec("SEC-53")
def test_repr_never_shows_the_id() -> None:
    engine = Engine()
    session_id, session = stored(engine)
    assert session_id not in repr(session)
    assert session.fingerprint is not None
    assert session.fingerprint in repr(session)


@pytest.mark.parametrize(
    ("idle", "lifetime", "interval"), [(0, 10, None), (10, 5, None), (10, 20, 10), (-1, 1, None)]
)
@pytest.mark.sec("SEC-21")
def test_bad_policies_are_refused(idle: float, lifetime: float, interval: float | None) -> None:
    from sojourn import ConfigurationError

    with pytest.raises(ConfigurationError):
        Policy(idle_timeout=idle, lifetime=lifetime, renew_interval=interval)


# -- following a framework's own record of the user (Flask-Login, django.contrib.auth) -----------


def logged_in(engine: Engine) -> tuple[str, Session]:
    session_id = new_session_id()
    record = Record(
        key=store_key(session_id),
        fields={"_user_id": b'"7"', "cart": b"[1]"},
        principal="7",
        created_at=NOW,
        renewed_at=NOW,
        expires_at=NOW + engine.policy.idle_timeout,
        authenticated_at=NOW,
    )
    return session_id, engine.open(session_id, record, NOW)


def test_following_a_new_user_is_a_login() -> None:
    engine = Engine()
    _, session = logged_in(engine)
    session.follow_principal("8")
    commit = engine.close(session, NOW + 1)
    assert isinstance(commit.ops[0], Rename)
    assert isinstance(commit.ops[1], Mark)
    apply = commit.ops[2]
    assert isinstance(apply, Apply)
    assert apply.changes.login is not None
    assert apply.changes.login.principal == "8"


def test_following_the_same_user_changes_nothing() -> None:
    engine = Engine()
    _, session = logged_in(engine)
    session.follow_principal("7")
    assert engine.close(session, NOW + 1).ops == ()


def test_following_no_user_ends_the_logged_in_id_and_keeps_the_data_under_a_new_one() -> None:
    engine = Engine()
    session_id, session = logged_in(engine)
    del session["_user_id"]
    session.follow_principal(None)
    assert session.principal is None
    commit = engine.close(session, NOW + 1)
    delete, create = commit.ops
    assert delete == Delete(store_key(session_id))
    assert isinstance(create, Create)
    assert create.record.principal is None
    assert create.record.fields == {"cart": b"[1]"}
    assert commit.issued_id not in (None, session_id)


def test_a_change_made_while_a_commit_runs_is_not_mistaken_for_stored() -> None:
    # The baseline after a commit is what the commit stored, not what the data became since.
    engine = Engine()
    _, session = stored(engine, a=b"1")
    session["a"] = 2
    plan = engine.close(session, NOW + 1)
    session["a"] = 3  # e.g. a streaming response's generator, while the store call awaits
    engine.committed(session, plan, NOW + 1, gone=False, final=False)
    assert session["a"] == 3
    (apply,) = engine.close(session, NOW + 2).ops
    assert isinstance(apply, Apply)
    assert apply.changes.set == {"a": b"3"}


class CountingCodec:
    """The default JSON codec, counting what it encodes: what a commit re-encodes is a cost."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def check(self, key: str, value: object, limits: CodecLimits) -> None:
        JSON.check(key, value, limits)

    def encode(self, key: str, value: object, limits: CodecLimits) -> bytes:
        self.encoded.append(key)
        return JSON.encode(key, value, limits)

    def decode(self, data: bytes, limits: CodecLimits) -> object:
        return JSON.decode(data, limits)


def test_reading_scalars_encodes_nothing_at_commit() -> None:
    codec = CountingCodec()
    engine = Engine(codec=codec)
    _, session = stored(engine, a=b"1", b=b'"text"', c=b"[1]")
    assert (session["a"], session.get("b"), "c" in session, len(session)) == (1, "text", True, 3)
    commit = engine.close(session, NOW + 1)
    assert commit.ops == ()
    assert commit.vary == "Cookie"
    assert codec.encoded == []


def test_only_set_keys_and_mutable_values_handed_out_are_encoded() -> None:
    codec = CountingCodec()
    engine = Engine(codec=codec)
    _, session = stored(engine, a=b"1", cart=b"[1]", prefs=b'{"x":1}', n=b"5")
    session["a"] = 1  # set to what it was: encoded, compared, not written
    session["cart"].append(2)  # changed in place
    assert session.get("prefs") == {"x": 1}  # handed out: could have been changed
    assert session["n"] == 5
    (apply,) = engine.close(session, NOW + 1).ops
    assert isinstance(apply, Apply)
    assert apply.changes.set == {"cart": b"[1,2]"}
    assert sorted(codec.encoded) == ["a", "cart", "prefs"]


def test_a_mutable_value_changed_while_a_commit_runs_is_saved_by_the_next() -> None:
    # A streaming response may change a value it was handed before the headers went out.
    engine = Engine()
    _, session = stored(engine, cart=b"[1]", n=b"1")
    cart = session["cart"]
    plan = engine.close(session, NOW + 1)
    cart.append(2)  # while the store call awaits
    engine.committed(session, plan, NOW + 1, gone=False, final=True)
    assert session["n"] == 1  # the body uses the session again; the late commit follows
    (apply,) = engine.close(session, NOW + 2).ops
    assert isinstance(apply, Apply)
    assert apply.changes.set == {"cart": b"[1,2]"}


def test_removing_a_key_without_setting_any_is_a_removal() -> None:
    engine = Engine()
    _, session = stored(engine, a=b"1", b=b"2")
    del session["a"]
    (apply,) = engine.close(session, NOW + 1).ops
    assert isinstance(apply, Apply)
    assert (apply.changes.set, apply.changes.remove) == ({}, frozenset({"a"}))


def test_reading_a_stored_empty_session_deletes_it() -> None:
    # A session stored empty (Django's save()) is not worth keeping: the first commit that
    # used it deletes it and clears the cookie, whether the request read or wrote.
    engine = Engine()
    session_id = new_session_id()
    record = Record(
        key=store_key(session_id),
        fields={},
        principal=None,
        created_at=NOW,
        renewed_at=NOW,
        expires_at=NOW + engine.policy.idle_timeout,
    )
    session = engine.open(session_id, record, NOW)
    assert "x" not in session
    commit = engine.close(session, NOW + 1)
    assert commit.ops == (Delete(store_key(session_id)),)
    assert any(name == "set-cookie" for name, _ in commit.headers)
