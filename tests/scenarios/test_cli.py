"""`jointdispatch replay`: compares the strategies, writes the JSON and HTML report, and answers a
bad file with its line and field."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from web.cli import app


def test_replay_compare_writes_the_report(small_file: Path, tmp_path: Path, redis_server,  # type: ignore[no-untyped-def]
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    out = tmp_path / "report"
    args = ["replay", str(small_file), "--compare", "--out", str(out), "--seed", "5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "joint with green wave" in result.output
    body = json.loads((out / "report.json").read_text())
    assert [s["strategy"] for s in body["strategies"]] == ["alone", "joint", "joint_green_wave"]
    assert body["seed"] == 5
    figures = {row["figure"]: row for row in body["comparison"]}
    assert figures["whistles blown"]["alone"] == "0" and figures["whistles blown"]["joint"] == "1"
    green = body["strategies"][2]
    assert any(t["green_wave"] for t in green["trips"])
    assert {"unit_id", "depart_s", "origin", "destination", "nodes", "arrive_s"} <= set(green["trips"][0])
    page = (out / "report.html").read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") >= 3
    assert "Strategies side by side" in page and "Training expectations" in page


def test_replay_rejects_a_bad_file_with_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntitle: t\nstart: 2026-05-01T09:00:00+08:00\ntraffic: {level: 3}\n")
    result = CliRunner().invoke(app, ["replay", str(bad)])
    assert result.exit_code == 2
    assert "line 4: traffic.level" in result.output.replace("\n", "")


def test_replay_rejects_a_bad_speed(small_file: Path) -> None:
    result = CliRunner().invoke(app, ["replay", str(small_file), "--speed", "fast-ish"])
    assert result.exit_code == 2 and "speed" in result.output


def test_two_runs_keep_their_own_folder_and_namespace(small_file: Path, tmp_path: Path, redis_server,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import redis as redis_sync

    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("JD_DATA_DIR", str(tmp_path))
    for _ in range(2):
        result = CliRunner().invoke(app, ["replay", str(small_file), "--strategy", "joint", "--redis"])
        assert result.exit_code == 0, result.output
    runs = sorted(p for p in (tmp_path / "replays" / "small_town").iterdir() if p.name != "latest")
    assert len(runs) == 2 and all((r / "report.json").exists() for r in runs)
    assert (tmp_path / "replays" / "small_town" / "latest").resolve() == runs[-1].resolve()
    spaces = {json.loads((r / "report.json").read_text())["strategies"][0]["namespace"] for r in runs}
    assert len(spaces) == 2 and all(s.startswith("training:small_town:") for s in spaces)
    logs = redis_sync.Redis.from_url(redis_server.url)
    assert all(logs.xlen(f"{s}:log") > 0 for s in spaces)  # neither run wrote over the other


def test_every_mean_and_share_in_the_comparison_says_its_n(small_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["replay", str(small_file), "--strategy", "joint", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = {row["figure"]: row for row in json.loads((out / "report.json").read_text())["comparison"]}
    means = [f for f in rows if ", mean" in f or "within target" in f]
    shown = {f: rows[f]["joint"] for f in means if rows[f]["joint"] != "–"}
    assert len(shown) >= 5 and all("(n " in v for v in shown.values()), shown
