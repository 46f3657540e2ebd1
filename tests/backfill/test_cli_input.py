"""``headroom backfill``: what the command line and the settings accept, and what it says
when they are wrong (SQLite only; no run needs more than a few rows)."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import types
import typing
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from headroom.backfill import Backfill, Param
from headroom.backfill.checks import backfill_settings_errors
from headroom.backfill.models import BackfillRun, State
from headroom.backfill.registry import _registry, register
from headroom.cli import build_parser, discover, main
from headroom.conf import BACKFILL_RANGES as RANGES
from headroom.conf import HeadroomSettings
from tests.backfill.app.models import Counter

sqlite = pytest.mark.django_db(databases=["default"])


def headroom(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["backfill", *argv], django_ready=True)
    out, err = capsys.readouterr()
    return code, out, err


def refused_by_argparse(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """argparse's own refusal: exit 2, the message on stderr."""
    with pytest.raises(SystemExit) as exited:
        main(["backfill", *argv], django_ready=True)
    assert exited.value.code == 2
    return capsys.readouterr().err


def parsed(*argv: str) -> Any:
    return build_parser(discover()).parse_args(["backfill", *argv])


# --- 1. numeric options --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--batch-size", "-5", "must be 1 or more, got -5"),
        ("--batch-size", "0", "must be 1 or more, got 0"),
        ("--batch-size", "ten", "expected a whole number, got 'ten'"),
        ("--min-batch-size", "0", "must be 1 or more, got 0"),
        ("--max-batch-size", "0", "must be 1 or more, got 0"),
        ("--max-batch-size", "-1", "must be 1 or more, got -1"),
        ("--target-seconds", "0", "must be more than 0, got 0"),
        ("--target-seconds", "-1", "must be more than 0, got -1"),
        ("--target-seconds", "nan", "must be a finite number, got nan"),
        ("--max-rows-per-second", "inf", "must be a finite number, got inf"),
        ("--max-rows-per-second", "0", "must be more than 0, got 0"),
        ("--max-rows-per-second", "-10", "must be more than 0, got -10"),
        ("--batches", "0", "must be 1 or more, got 0"),
        ("--batches", "-1", "must be 1 or more, got -1"),
        ("--max-in-flight", "0", "must be 1 or more, got 0"),
        ("--concurrent-batches", "0", "must be 1 or more, got 0"),
        ("--lock-timeout", "-1", "must be 0 or more seconds (0: no limit), got -1"),
        ("--statement-timeout", "inf", "must be 0 or more seconds (0: no limit), got inf"),
    ],
)
def test_numeric_options_out_of_range_are_refused_by_argparse(
    capsys: pytest.CaptureFixture[str], option: str, value: str, problem: str
) -> None:
    err = refused_by_argparse(capsys, "run", "backfilltests.FillValues", option, value)
    assert f"argument {option}: {problem}" in err
    assert "Traceback" not in err


def test_zero_keeps_its_documented_meaning_where_it_has_one() -> None:
    args = parsed("run", "x.Y", "--lock-timeout", "0", "--statement-timeout", "0")
    assert args.lock_timeout == 0.0 and args.statement_timeout == 0.0
    args = parsed("run", "x.Y", "--target-seconds", "0.25", "--max-rows-per-second", "0.5")
    assert args.target_batch_seconds == 0.25 and args.max_rows_per_second == 0.5
    args = parsed("run", "x.Y", "--batch-size", "1", "--min-batch-size", "1", "--batches", "1")
    assert (args.batch_size, args.min_batch_size, args.max_batches) == (1, 1, 1)


def test_a_smallest_batch_larger_than_the_largest_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = headroom(
        capsys,
        "run",
        "backfilltests.FillValues",
        "--min-batch-size",
        "500",
        "--max-batch-size",
        "100",
    )
    assert code == 2
    assert "the smallest batch, 500 (--min-batch-size), is larger than the largest, 100 " in err
    with override_settings(HEADROOM={"BACKFILL_MAX_BATCH_SIZE": 100}):
        code, _, err = headroom(
            capsys, "run", "backfilltests.FillValues", "--min-batch-size", "500"
        )
    assert code == 2
    assert 'larger than the largest, 100 (HEADROOM["BACKFILL_MAX_BATCH_SIZE"])' in err


@pytest.mark.parametrize("flag", ["--dry-run", "--detach"])
def test_retry_failed_is_refused_with_an_option_that_would_not_retry(
    capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    code, _, err = headroom(capsys, "run", "backfilltests.FillValues", "--retry-failed", flag)
    assert code == 2
    assert f"--retry-failed cannot be combined with {flag}" in err


@pytest.mark.parametrize("action", ["run", "status", "pause"])
def test_an_unknown_database_alias_is_refused(
    capsys: pytest.CaptureFixture[str], action: str
) -> None:
    code, _, err = headroom(capsys, action, "backfilltests.FillValues", "--database", "bogus")
    assert code == 2
    assert "--database 'bogus': no such alias in DATABASES (it has: default, " in err


def test_batches_is_refused_with_the_celery_executor(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = headroom(
        capsys, "run", "backfilltests.FillValues", "--executor", "celery", "--batches", "2"
    )
    assert code == 2
    assert "--batches works with the inline executor only" in err


# --- 2. settings: the check, and run's refusal ------------------------------------------------


def _numeric(tp: Any) -> bool:
    args = typing.get_args(tp) if typing.get_origin(tp) in (types.UnionType, typing.Union) else ()
    return tp in (int, float) or any(a in (int, float) for a in args)


def test_every_numeric_backfill_setting_has_a_range() -> None:
    hints = typing.get_type_hints(HeadroomSettings)
    numeric = {
        f.name
        for f in dataclasses.fields(HeadroomSettings)
        if f.name.startswith("BACKFILL_") and _numeric(hints[f.name])
    }
    assert set(RANGES) == numeric


def _errors(headroom_setting: dict[str, Any]) -> list[checks.CheckMessage]:
    with override_settings(HEADROOM=headroom_setting):
        return [m for m in checks.run_checks(tags=["headroom"]) if m.is_serious()]


def _names(message: checks.CheckMessage, keys: typing.Iterable[str]) -> set[str]:
    return {key for key in keys if f"'{key}'" in message.msg}


def test_the_check_names_every_bad_backfill_setting_once() -> None:
    bad = {
        "BACKFILL_TARGET_BATCH_SECONDS": 0,
        "BACKFILL_SLEEP_RATIO": -1,
        "BACKFILL_BATCH_SIZE": 0,
        "BACKFILL_MAX_ROWS_PER_SECOND": -5,
        "BACKFILL_ERROR_BUDGET": -1,
    }
    errors = _errors(bad)
    named = [key for m in errors for key in _names(m, bad)]
    assert sorted(named) == sorted(bad)  # each one, and only once
    assert {m.id for m in errors} == {"headroom.E002", "headroom.E202"}
    [rate] = [m for m in errors if "BACKFILL_MAX_ROWS_PER_SECOND" in m.msg]
    assert rate.id == "headroom.E202"
    assert rate.msg == (
        "HEADROOM['BACKFILL_MAX_ROWS_PER_SECOND'] is -5; it must be more than 0, or None (no cap)."
    )
    assert "HEADROOM['BACKFILL_MAX_ROWS_PER_SECOND'] = None" in (rate.hint or "")


@pytest.mark.parametrize("key", sorted(RANGES))
def test_each_numeric_backfill_setting_is_checked_at_its_bound(key: str) -> None:
    allowed = RANGES[key]
    outside = allowed.low - 1 if allowed.inclusive else allowed.low
    inside = allowed.low if allowed.inclusive else allowed.low + 0.5
    assert any(_names(m, [key]) for m in _errors({key: outside})), (key, outside)
    assert not any(_names(m, [key]) for m in _errors({key: inside})), (key, inside)
    assert any(_names(m, [key]) for m in _errors({key: float("nan")})), key


def test_the_statement_timeout_takes_auto_and_no_other_word() -> None:
    key = "BACKFILL_STATEMENT_TIMEOUT"
    assert not _errors({key: "auto"})
    [wrong] = _errors({key: "fast"})
    assert wrong.id == "headroom.E002"
    assert "expected float | Literal['auto'] | None, got str 'fast'" in wrong.msg
    errors = _errors({key: -1, "BACKFILL_SLEEP_RATIO": -1})  # E202 names both
    [negative] = [m for m in errors if _names(m, [key])]
    assert "must be 0 or more, 'auto' (twice the target batch time), or None (no limit)" in (
        negative.msg
    )


def test_min_above_max_is_reported_alongside_another_error() -> None:
    errors = _errors(
        {
            "BACKFILL_TARGET_BATCH_SECONDS": 0,
            "BACKFILL_MIN_BATCH_SIZE": 500,
            "BACKFILL_MAX_BATCH_SIZE": 100,
        }
    )
    assert {m.id for m in errors} == {"headroom.E002", "headroom.E203"}
    [sizes] = [m for m in errors if m.id == "headroom.E203"]
    assert "is 500, more than HEADROOM['BACKFILL_MAX_BATCH_SIZE'] (100)" in sizes.msg


@sqlite
@pytest.mark.parametrize(
    ("bad", "check_id"),
    [
        ({"BACKFILL_MAX_ROWS_PER_SECOND": -5}, "headroom.E002"),
        ({"BACKFILL_MAX_ROWS_PER_SECOND": -5, "BACKFILL_SLEEP_RATIO": -1}, "headroom.E202"),
        ({"BACKFILL_SLEEP_RATIO": -1, "BACKFILL_BATCH_SIZE": 0}, "headroom.E002"),
        ({"BACKFILL_TARGET_BATCH_SECONDS": 0}, "headroom.E002"),
        # An unrelated bad option: every option is then its default, BACKFILL_* included.
        ({"SLO_P95_MS": 0, "BACKFILL_MAX_ROWS_PER_SECOND": 100.0}, "headroom.E002"),
    ],
)
def test_run_refuses_while_the_backfill_settings_are_invalid(
    capsys: pytest.CaptureFixture[str], bad: dict[str, Any], check_id: str
) -> None:
    Counter.objects.create(id=1)
    with override_settings(HEADROOM=bad):
        code, out, err = headroom(capsys, "run", "backfilltests.FillValues")
        assert code == 2, out
        assert "the backfill settings are invalid" in err and f"{check_id}: " in err
        code, _, err = headroom(capsys, "run", "backfilltests.FillValues", "--dry-run")
        assert code == 2 and check_id in err
    assert not BackfillRun.objects.exists()
    assert Counter.objects.get().value is None


def test_an_unrelated_bad_option_does_not_stop_a_backfill_that_sets_nothing() -> None:
    with override_settings(HEADROOM={"SLO_P95_MS": 0}):
        assert backfill_settings_errors() == []
    with override_settings(
        HEADROOM={"BACKFILL_SLEEP_RATIO": -1}, SILENCED_SYSTEM_CHECKS=["headroom.E002"]
    ):
        assert backfill_settings_errors() == []


# --- 3. parameter values -----------------------------------------------------------------------


def _param(tp: Any) -> Param:
    param = Param(tp)
    param.__set_name__(Backfill, "p")
    return param


def _even(text: str) -> int:
    if int(text) % 2:
        raise ValueError(f"{text} is odd; give an even number")
    return int(text)


@pytest.mark.parametrize(
    ("tp", "text", "message"),
    [
        (bool, "maybe", "'maybe' is not a boolean (use true or false)"),
        (int, "x", "'x' is not a whole number"),
        (int, "2.5", "'2.5' is not a whole number"),
        (float, "fast", "'fast' is not a number"),
        (decimal.Decimal, "abc", "'abc' is not a decimal number"),
        (uuid.UUID, "42", "'42' is not a UUID"),
        (datetime.date, "2024-02-30", "'2024-02-30' is not a date (YYYY-MM-DD)"),
        (datetime.datetime, "soon", "'soon' is not a date and time (YYYY-MM-DDTHH:MM:SS)"),
        (_even, "3", "3 is odd; give an even number"),
        # A callable that raises something else than ValueError is named, not a traceback.
        ({"a": 1}.__getitem__, "b", "KeyError: 'b'"),
    ],
)
def test_a_bad_parameter_value_says_what_was_expected(tp: Any, text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        _param(tp).parse(text)
    assert str(raised.value) == f"parameter 'p': {message}"


def test_good_parameter_values_still_parse() -> None:
    assert _param(decimal.Decimal).parse("1.25") == decimal.Decimal("1.25")
    assert _param(int).parse(" 7 ") == 7
    assert _param(str).parse("any text") == "any text"
    assert _param(datetime.date).parse("2024-01-31") == datetime.date(2024, 1, 31)
    assert _param(_even).parse("4") == 4


class Scale(Backfill):
    """Multiplies every value by ``factor`` (never run: its parameter is refused)."""

    queryset = Counter.objects.all()
    factor = Param(decimal.Decimal)


@pytest.fixture
def scale() -> Iterator[str]:
    name = "cliinput.Scale"
    register(name=name)(Scale)
    yield name
    _registry.pop(name, None)


def test_the_command_line_words_a_bad_value_for_people(
    capsys: pytest.CaptureFixture[str], scale: str
) -> None:
    code, _, err = headroom(capsys, "run", scale, "--param", "factor=abc")
    assert code == 2
    assert "parameter 'factor': 'abc' is not a decimal number" in err
    assert "ConversionSyntax" not in err
    code, _, err = headroom(capsys, "run", "backfilltests.FillFrom", "--param", "first=x")
    assert code == 2 and "parameter 'first': 'x' is not a whole number" in err
    code, _, err = headroom(capsys, "run", scale)
    assert code == 2 and "cliinput.Scale needs the parameter 'factor': --param factor=..." in err


# --- 4. command hints carry the run's parameters ----------------------------------------------


@sqlite
def test_resume_says_how_to_go_on_with_the_runs_parameters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    BackfillRun.objects.create(
        name="backfilltests.ImportPrices", params={"path": "/data/my prices.csv"}, state="paused"
    )
    code, out, _ = headroom(capsys, "resume", "backfilltests.ImportPrices")
    assert code == 0, out
    assert (
        "go on with: headroom backfill run backfilltests.ImportPrices "
        "--param 'path=/data/my prices.csv'"
    ) in out


# --- 5. usage and help -------------------------------------------------------------------------


def test_no_action_names_every_action(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = headroom(capsys)
    assert code == 2
    assert "say what to do: list (or --list), run, status, pause, resume, cancel or watchdog" in err


def test_help_shows_units_defaults_and_the_settings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")  # argparse wraps its help to the terminal
    with pytest.raises(SystemExit):
        main(["backfill", "run", "--help"], django_ready=True)
    text = " ".join(capsys.readouterr().out.split())
    assert "--target-seconds SECONDS" in text
    assert "--target-seconds TARGET_BATCH_SECONDS" not in text
    for setting, default in (
        ("BACKFILL_BATCH_SIZE", "1,000"),
        ("BACKFILL_MAX_BATCH_SIZE", "100,000"),
        ("BACKFILL_MAX_ROWS_PER_SECOND", "no cap"),
        ("BACKFILL_MAX_IN_FLIGHT", "4"),
    ):
        assert f'HEADROOM["{setting}"], {default})' in text, setting
    with pytest.raises(SystemExit):
        main(["backfill", "status", "--help"], django_ready=True)
    assert "APP.NAME the backfill, e.g." in " ".join(capsys.readouterr().out.split())


# --- 6. nothing to do: the exit code, and JSON ------------------------------------------------


@sqlite
def test_retry_failed_with_nothing_to_retry_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = headroom(capsys, "run", "backfilltests.FillValues", "--retry-failed")
    assert code == 0, err
    assert "nothing to retry" in out and "(it has never run)" in out
    run = BackfillRun.objects.create(name="backfilltests.FillValues", state=State.SUCCEEDED)
    code, out, _ = headroom(capsys, "run", "backfilltests.FillValues", "--retry-failed", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["retried"] == 0 and "nothing to retry" in report["message"]
    assert report["nothing_to_do"] is True
    assert report["last_run"]["id"] == run.pk
    # Nothing went wrong: --quiet says nothing.
    code, out, err = headroom(
        capsys, "run", "backfilltests.FillValues", "--retry-failed", "--quiet"
    )
    assert (code, out, err) == (0, "", "")


@sqlite
@pytest.mark.parametrize("action", ["pause", "resume", "cancel"])
def test_steering_with_nothing_to_steer_prints_json(
    capsys: pytest.CaptureFixture[str], action: str
) -> None:
    code, out, err = headroom(capsys, action, "backfilltests.FillValues", "--json")
    assert code == 1 and err == ""
    answer = json.loads(out)
    assert answer["action"] == action and answer["backfill"] == "backfilltests.FillValues"
    assert f"has no unfinished run to {action}" in answer["error"]
    code, out, err = headroom(capsys, action, "backfilltests.FillValues")
    assert code == 1 and out == "" and f"has no unfinished run to {action}" in err


@sqlite
def test_a_refusal_of_the_command_line_is_json_too_with_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = headroom(capsys, "run", "backfilltests.Nope", "--json")
    assert code == 2 and "backfilltests.Nope" in err
    answer = json.loads(out)
    assert answer["action"] == "run" and "backfilltests.Nope" in answer["error"]


@sqlite
def test_a_dry_run_whose_batch_fails_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    from headroom.backfill.registry import get_backfill

    Counter.objects.bulk_create(Counter(id=n, hits=0) for n in range(1, 11))
    cls = get_backfill("backfilltests.FillValues")
    original = cls.update
    cls.update = {"value": 1, "no_such_field": 2}  # type: ignore[misc]
    try:
        code, out, err = headroom(capsys, "run", "backfilltests.FillValues", "--dry-run")
    finally:
        cls.update = original  # type: ignore[misc]
    assert code == 1 and out == ""
    assert err.startswith("headroom backfill run: dry run: a batch failed: FieldDoesNotExist")
    assert "Traceback" not in err
    assert set(Counter.objects.values_list("value", flat=True)) == {None}


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-Infinity"])
@pytest.mark.parametrize("kind", [float, decimal.Decimal])
def test_numbers_that_are_not_finite_are_refused(kind: Any, text: str) -> None:
    param = Param(kind)
    param.name = "factor"
    with pytest.raises(ValueError) as refused:
        param.parse(text)
    assert str(refused.value) == f"parameter 'factor': {text!r} is not a finite number"


@sqlite
def test_a_parameter_given_twice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = headroom(
        capsys, "run", "backfilltests.FillFrom", "--param", "first=1", "--param", "first=2"
    )
    assert code == 2 and "--param first is given twice" in err


@sqlite
def test_pausing_a_run_nobody_holds_says_it_stays_paused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = BackfillRun.objects.create(name="backfilltests.FillValues", state=State.RUNNING)
    code, out, _ = headroom(capsys, "pause", "backfilltests.FillValues")
    assert code == 0
    assert out.strip() == (
        f"run #{run.pk} of backfilltests.FillValues is paused: nobody runs it now; it stays so "
        "until resumed."
    )
