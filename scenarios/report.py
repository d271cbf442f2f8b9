"""The replay report: the strategies side by side as a table, written as JSON (figures, every
incident and every trip) and as one self-contained HTML file with plots a trainer can open
anywhere (response-time distributions, units busy over the day, green-wave trips, and a timeline
of the units' statuses), drawn with matplotlib into inline SVG."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402

from dispatch import events as ev  # noqa: E402
from dispatch.units import UnitStatus  # noqa: E402
from scenarios.kpi import AGENCIES  # noqa: E402
from scenarios.model import LoadedScenario  # noqa: E402
from scenarios.replay import ReplayResult  # noqa: E402

AGENCY_NAMES = {"110": "110 police", "119": "119 fire", "120": "120 medical", "122": "122 traffic"}
STATUS_COLOURS = {
    "dispatched": "#f4a261",
    "en_route": "#e76f51",
    "on_scene": "#2a9d8f",
    "transporting": "#8e44ad",
    "at_hospital": "#b39ddb",
    "returning": "#90a4ae",
}


def _fmt(value: Any, unit: str = "s") -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if unit == "s":
        return f"{value / 60:.1f} min" if abs(value) >= 90 else f"{value:.0f} s"
    if unit == "%":
        return f"{value * 100:.0f}%"
    return str(value)


def _with_n(figures: dict[str, Any] | None, missed: int | None) -> str:
    if not figures or figures["mean"] is None:
        return "–"
    return f"{_fmt(figures['mean'])} (n {figures['n']}, {missed or 0} never met)"


def _n(figures: dict[str, Any] | None) -> str:
    if not figures or figures["mean"] is None:
        return "–"
    return f"{_fmt(figures['mean'])} (n {figures['n']})"


def _share_of(share: float | None, needed: int | None, missed: int | None) -> str:
    """A share with what it is a share of: a trainer reads 100 % of 2 differently from of 200."""
    if share is None:
        return "–"
    return f"{_fmt(share, '%')} (n {needed or 0}, {missed or 0} never met)"


def comparison_rows(results: Sequence[ReplayResult]) -> list[tuple[str, list[str]]]:
    """The side-by-side table: one row per figure, one column per strategy."""
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, get: Any, unit: str = "s") -> None:
        rows.append((label, [_fmt(get(r.kpis), unit) for r in results]))

    row("incidents opened", lambda k: k["incidents"], "")
    row("calls passed on between centres", lambda k: k["transfers"], "")
    row("merge precision (pairs of calls, event tags)", lambda k: k["merge_quality"]["precision"], "")
    row("merge recall", lambda k: f'{k["merge_quality"]["recall"]} ({k["merge_quality"]["scope"]})', "")
    row("false merges (incidents mixing events)", lambda k: len(k["merge_quality"]["false_merges"]), "")
    row("first unit on scene, mean (n)", lambda k: _n(k["first_on_scene_s"]))
    row("response (all agencies), mean over every need (n, never met)",
        lambda k: _with_n(k["response_all_s"], k["missed"]))
    row("response (all agencies), median", lambda k: k["response_all_s"]["median"])
    row("response (all agencies), p90", lambda k: k["response_all_s"]["p90"])
    row("agency needs never met", lambda k: k["missed"], "")
    for a in AGENCIES:
        if not any(a in r.kpis["agencies"] for r in results):
            continue
        name = AGENCY_NAMES[a]

        def get(k: dict[str, Any], a: str = a, *path: str) -> Any:
            v: Any = k["agencies"].get(a)
            for p in path:
                v = None if v is None else v[p]
            return v

        row(f"{name}: first call to its task, median", lambda k, a=a: get(k, a, "call_to_task_s", "median"))
        row(f"{name}: call to dispatch, median", lambda k, a=a: get(k, a, "call_to_dispatch_s", "median"))
        row(f"{name}: travel, median", lambda k, a=a: get(k, a, "travel_s", "median"))
        row(f"{name}: response, mean over every need (n, never met)",
            lambda k, a=a: _with_n(get(k, a, "response_s"), get(k, a, "missed")))
        row(f"{name}: response, median", lambda k, a=a: get(k, a, "response_s", "median"))
        row(f"{name}: response, p90", lambda k, a=a: get(k, a, "response_s", "p90"))
        row(f"{name}: within target (of n needed, never met)",
            lambda k, a=a: _share_of(get(k, a, "within_target_share"), get(k, a, "needed"),
                                     get(k, a, "missed")))
    if any(r.kpis["alarms"]["count"] for r in results):
        row("home alarms (escalated)", lambda k: f'{k["alarms"]["count"]} ({k["alarms"]["escalated"]})', "")
        for name, label in (("verified", "verified"), ("dispatch", "first unit sent"),
                            ("on_scene", "first unit on scene"), ("responder", "community responder there")):
            row(f"alarm to {label}, median", lambda k, n=name: k["alarms"][f"alarm_to_{n}_s"]["median"])
    row("whistles blown", lambda k: k["whistles"]["count"], "")
    row("whistle after first call, median", lambda k: k["whistles"]["blown_after_first_call_s"]["median"])
    row("green-wave trips", lambda k: k["green_wave"]["trips"], "")
    row("green wave saved per trip, mean (n)", lambda k: _n(k["green_wave"]["saved_s"]))
    row("red-signal waiting per trip, mean (n)", lambda k: _n(k["trips"]["signal_wait_s"]))
    row("repeat-call rate (of n calls)",
        lambda k: f'{_fmt(k["repeat_call_rate"], "%")} (n {k["calls"]})' if k["repeat_call_rate"] is not None
        else "–")
    for a in AGENCIES:
        if any(a in r.kpis["utilisation"] for r in results):
            row(f"{AGENCY_NAMES[a]}: unit utilisation", lambda k, a=a: k["utilisation"].get(a), "%")
    return rows


def write_report(scenario: LoadedScenario, results: Sequence[ReplayResult], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    body = {
        "scenario": scenario.name,
        "title": scenario.spec.title,
        "source": str(scenario.source),
        "start": scenario.spec.start.isoformat(),
        "seed": results[0].seed if results else None,
        "comparison": [
            {"figure": label, **{r.strategy.name: v for r, v in zip(results, vals, strict=True)}}
            for label, vals in comparison_rows(results)
        ],
        "strategies": [r.to_dict() for r in results],
    }
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path = out_dir / "report.html"
    html_path.write_text(render_html(scenario, results), encoding="utf-8")
    return {"json": json_path, "html": html_path}


# --- HTML -------------------------------------------------------------------------------------


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _response_plot(results: Sequence[ReplayResult]) -> str:
    agencies = [a for a in AGENCIES if any(a in r.kpis["agencies"] for r in results)]
    fig, axes = plt.subplots(
        1, max(1, len(agencies)), figsize=(3.2 * max(1, len(agencies)), 3.2), sharey=True, squeeze=False
    )
    for ax, a in zip(axes[0], agencies, strict=False):
        data = [
            [
                row["agencies"][a]["response_s"] / 60
                for row in r.kpis["per_event"]
                if a in row["agencies"] and row["agencies"][a]["response_s"] is not None
            ]
            for r in results
        ]
        ax.boxplot([d or [float("nan")] for d in data], showfliers=True)
        ax.set_xticks(
            range(1, len(results) + 1), [r.strategy.label for r in results], rotation=20, fontsize=7
        )
        ax.set_title(AGENCY_NAMES[a], fontsize=9)
        target = results[0].kpis["agencies"].get(a, {}).get("target_s")
        if target:
            ax.axhline(target / 60, color="#c0392b", lw=0.8, ls="--")
    axes[0][0].set_ylabel("first call to on scene (min)")
    return _svg(fig)


def _busy_plot(results: Sequence[ReplayResult]) -> str:
    fig, ax = plt.subplots(figsize=(9, 2.8))
    for r in results:
        changes: list[tuple[float, int]] = []
        busy: set[str] = set()
        for rec in r.records:
            e = rec.event
            if isinstance(e, ev.UnitAssigned) and e.unit_id not in busy:
                busy.add(e.unit_id)
                changes.append(((e.at - r.start).total_seconds() / 3600, len(busy)))
            elif (
                isinstance(e, ev.UnitStatusChanged)
                and e.status in (UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE)
                and e.unit_id in busy
            ):
                busy.discard(e.unit_id)
                changes.append(((e.at - r.start).total_seconds() / 3600, len(busy)))
        if changes:
            xs, ys = zip(*changes, strict=True)
            ax.step(xs, ys, where="post", label=r.strategy.label, lw=1)
    ax.set_xlabel("hours after the start")
    ax.set_ylabel("units busy")
    ax.legend(fontsize=7)
    return _svg(fig)


def _green_wave_plot(results: Sequence[ReplayResult]) -> str | None:
    trips = [t for r in results for t in r.kpis["green_wave"]["per_trip"]]
    if not trips:
        return None
    trips = trips[:40]
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(trips) + 1))
    ys = range(len(trips))
    ax.barh(
        [y + 0.2 for y in ys],
        [t["without_s"] / 60 for t in trips],
        0.4,
        label="without priority",
        color="#e76f51",
    )
    ax.barh(
        [y - 0.2 for y in ys],
        [t["with_s"] / 60 for t in trips],
        0.4,
        label="with green wave",
        color="#2a9d8f",
    )
    ax.set_yticks(list(ys), [f"{t['unit_id']} → {t['incident_id']}" for t in trips], fontsize=7)
    ax.set_xlabel("trip to the scene (min), same route and departure")
    ax.invert_yaxis()
    ax.legend(fontsize=7)
    return _svg(fig)


def _timeline_plot(result: ReplayResult, max_units: int = 30) -> str | None:
    spans: dict[str, list[tuple[float, float, str]]] = {}
    open_: dict[str, tuple[float, str]] = {}
    for rec in result.records:
        e = rec.event
        t = (e.at - result.start).total_seconds() / 60
        if isinstance(e, ev.UnitAssigned | ev.UnitStatusChanged):
            status = "dispatched" if isinstance(e, ev.UnitAssigned) else e.status
            if e.unit_id in open_:
                t0, s0 = open_.pop(e.unit_id)
                spans.setdefault(e.unit_id, []).append((t0, t, s0))
            if status in STATUS_COLOURS:
                open_[e.unit_id] = (t, status)
    end = result.end_s / 60
    for uid, (t0, s0) in open_.items():
        spans.setdefault(uid, []).append((t0, end, s0))
    if not spans or len(spans) > max_units:
        return None
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(spans) + 1.2))
    for y, (_uid, items) in enumerate(sorted(spans.items())):
        for t0, t1, s in items:
            ax.barh(y, t1 - t0, left=t0, color=STATUS_COLOURS[s], height=0.7)
    ax.set_yticks(range(len(spans)), sorted(spans), fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("minutes after the start")
    for s, c in STATUS_COLOURS.items():
        ax.barh(0, 0, color=c, label=s.replace("_", " "))
    ax.legend(fontsize=6, ncol=6, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    ax.set_title(f"units' timeline: {result.strategy.label}", fontsize=9)
    return _svg(fig)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(scenario: LoadedScenario, results: Sequence[ReplayResult]) -> str:
    # One page written top to bottom; its sections are a template, not logic.
    spec = scenario.spec
    parts = [
        f"<h1>{html.escape(spec.title)}</h1>",
        f"<p class=meta>{html.escape(scenario.name)} · starts {spec.start.isoformat()} · seed "
        f"{results[0].seed if results else '–'} · {results[0].kpis['calls'] if results else 0} calls</p>",
        f"<p>{html.escape(spec.description)}</p>",
        f"<p class=meta>Working alone, a call for another agency is passed on by phone after a "
        f"log-normal delay, median {spec.dispatcher.transfer.median_s:.0f} s, 90th percentile "
        f"{spec.dispatcher.transfer.p90_s:.0f} s. A need never met is counted in the means up to the "
        f"end of the run. Merges are scored against the scenario's event tags.</p>",
        "<h2>Strategies side by side</h2>",
        _table(
            ["figure", *[r.strategy.label for r in results]],
            [[label, *vals] for label, vals in comparison_rows(results)],
        ),
    ]
    exp_rows = [
        [r.strategy.label, x["expectation"], "met" if x["met"] else "NOT met", _fmt(x["measured"])]
        for r in results
        for x in r.kpis["expectations"]
    ]
    if exp_rows:
        parts += [
            "<h2>Training expectations</h2>",
            _table(["strategy", "expectation", "result", "measured"], exp_rows),
        ]
    parts += [
        "<h2>Response-time distributions</h2>",
        _response_plot(results),
        "<h2>Units busy over time</h2>",
        _busy_plot(results),
    ]
    gw = _green_wave_plot(results)
    if gw:
        parts += ["<h2>Green-wave trips: the same trip with and without priority</h2>", gw]
    for r in results:
        tl = _timeline_plot(r)
        if tl:
            parts += [f"<h2>Timeline: {html.escape(r.strategy.label)}</h2>", tl]
    acks = [
        [r.strategy.label, AGENCY_NAMES.get(a, a), _fmt(s["median"]), _fmt(s["p90"]), str(s["n"])]
        for r in results
        for a, s in r.kpis["whistles"]["ack_s"].items()
    ]
    if acks:
        parts += [
            "<h2>Whistle acknowledgement</h2>",
            _table(["strategy", "agency", "median", "p90", "summons answered"], acks),
        ]
    def cost(effect: dict[str, dict[str, float | None]]) -> str:
        return "; ".join(f"{e}: " + ", ".join(f"{AGENCY_NAMES.get(a, a)} {'never' if t is None else _fmt(t)}"
                                             for a, t in v.items()) for e, v in effect.items())

    merges = [[r.strategy.label, f["incident"], ", ".join(f["events"]),
               "; ".join(f'{c["call"]} ({c["event"]}): {c["reason"]}' for c in f["calls"]), cost(f["effect"])]
              for r in results for f in r.kpis["merge_quality"]["false_merges"]]
    if merges:
        parts += ["<h2>False merges (calls of different events in one incident)</h2>",
                  _table(["strategy", "incident", "events", "merged call and why",
                          "merged-in event's response"], merges[:100])]
    last = results[-1] if results else None
    if last is not None and len(last.kpis["per_event"]) <= 60:
        rows = []
        for row in last.kpis["per_event"]:
            for a, v in row["agencies"].items():
                rows.append(
                    [
                        row["event"],
                        ", ".join(row["kinds"]),
                        AGENCY_NAMES[a],
                        _fmt(v.get("task_s")),
                        _fmt(v["dispatch_s"]),
                        _fmt(v["travel_s"]),
                        "never" if v.get("missed") else _fmt(v["response_s"]),
                        v.get("unit", "–"),
                    ]
                )
        parts += [
            f"<h2>Per incident ({html.escape(last.strategy.label)})</h2>",
            _table(["event", "kinds", "agency", "call to task", "call to dispatch", "travel", "response",
                    "unit"], rows),
        ]
    if last is not None and last.kpis["alarms"]["per_alarm"]:
        alarm_rows = [[a["alarm_id"], a["kind"], a["event"], str(a["count"]),
                       "; ".join(a["checks"]) or "none", _fmt(a["verified_s"]), a["outcome"] or "open",
                       a["incident_id"] or "–",
                       _fmt(a["dispatch_s"]), _fmt(a["on_scene_s"]), _fmt(a["responder_s"])]
                      for a in last.kpis["alarms"]["per_alarm"]]
        parts += [
            "<h2>Home alarms: alarm, verification, dispatch, on scene "
            f"({html.escape(last.strategy.label)})</h2>",
            "<p class=meta>Seconds from the device's alarm.</p>",
            _table(["alarm", "kind", "event", "messages", "checks", "verified", "outcome", "incident",
                    "first unit sent", "first unit on scene", "responder at the home"], alarm_rows),
        ]
    style = (
        "body{font:14px system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
        ".meta{color:#666}svg{max-width:100%;height:auto}"
    )
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(spec.title)}"
        f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )
