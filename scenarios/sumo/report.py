"""The SUMO evaluation's report: a Markdown table of paired figures per trip, the delay imposed on
other traffic per corridor junction, the network conversion report, the targets met or not, plots
(matplotlib, PNG) and the same figures as JSON for the KPI report to take in."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from scenarios.sumo.evaluation import Evaluation, TripEvaluation  # noqa: E402
from scenarios.sumo.runs import Mode  # noqa: E402
from scenarios.sumo.traffic import LEVELS  # noqa: E402

UNIT_MODES = (Mode.NO_PRIORITY, Mode.BLUE_LIGHT, Mode.GREEN_WAVE)
LABEL = {Mode.FREE_FLOW: "free flow", Mode.NO_PRIORITY: "no priority", Mode.BLUE_LIGHT: "blue light",
         Mode.GREEN_WAVE: "green wave"}


def _f(x: float | None, fmt: str = ".0f") -> str:
    return "—" if x is None else format(x, fmt)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def trip_figures(t: TripEvaluation) -> dict[str, Any]:
    gw = t.mean(Mode.GREEN_WAVE)
    others = {m.value: [p.others_delay(m) for p in t.pairs] for m in UNIT_MODES}
    return {
        "unit": t.spec.unit_id, "kind": t.spec.kind, "label": t.spec.label,
        "route_m": round(t.trip.route.length_m), "signals": len(t.trip.route.signals),
        "district_junctions": t.district_junctions, "background_vehicles": t.background_vehicles,
        "conversion": t.conversion.lines(),
        "coordinator_eta_s": round(t.trip.route.eta_s, 1),
        "coordinator_eta_green_s": round(t.trip.route.eta_green_s, 1),
        "free_flow_s": t.free_flow_s,
        "runs": len(t.pairs),
        "mean_s": {m.value: t.mean(m) for m in UNIT_MODES},
        "min_s": {m.value: min(t.times(m), default=None) for m in UNIT_MODES},
        "max_s": {m.value: max(t.times(m), default=None) for m in UNIT_MODES},
        "not_arrived": {m.value: t.not_arrived(m) for m in UNIT_MODES},
        "green_wave_over_free_flow": (gw / t.free_flow_s - 1) if gw and t.free_flow_s else None,
        "green_wave_saving_vs_no_priority": t.paired_saving(Mode.GREEN_WAVE, Mode.NO_PRIORITY),
        "green_wave_saving_vs_blue_light": t.paired_saving(Mode.GREEN_WAVE, Mode.BLUE_LIGHT),
        "others_net_extra_vehicle_s": {m: _mean([o.net_s for o in v]) for m, v in others.items()},
        "others_vehicles_delayed": {m: _mean([o.delayed for o in v]) for m, v in others.items()},
        "others_delay_of_delayed_s": {m: _mean([o.delayed_s for o in v]) for m, v in others.items()},
        "others_vehicles_gained": {m: _mean([o.gained for o in v]) for m, v in others.items()},
        "junction_extra_halted_vehicle_s": {m.value: {k: round(v, 1) for k, v in t.junction_delays(m).items()}
                                            for m in UNIT_MODES},
        "green_wave_answers": _answers(t),
        "conflicting_green_steps": sum(r.conflicting_greens for p in t.pairs for r in p.runs.values()),
        "teleports": sum(r.teleports for p in t.pairs for r in p.runs.values()),
        "paired": [{"seed": p.seed, "offset_s": p.offset_s,
                    **{m.value: p.unit_time(m) for m in UNIT_MODES},
                    **{f"others_{m.value}_net_vehicle_s": round(p.others_delay(m).net_s, 1)
                       for m in UNIT_MODES}}
                   for p in t.pairs],
    }


def _mean(values: list[float] | list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def _answers(t: TripEvaluation) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in t.pairs:
        for k, v in p.runs[Mode.GREEN_WAVE].answers.items():
            out[k] = out.get(k, 0) + v
    return out


def write_report(ev: Evaluation, out: Path, title: str = "Green wave in SUMO") -> Path:
    # One report written top to bottom; its sections are a template, not logic.
    out.mkdir(parents=True, exist_ok=True)
    figures = [trip_figures(t) for t in ev.trips]
    (out / "sumo_evaluation.json").write_text(json.dumps({
        "network": ev.network_name, "level": ev.settings.level, "seeds": list(ev.settings.seeds),
        "depart_offsets_s": list(ev.settings.depart_offsets_s), "trips": figures}, indent=2) + "\n")
    _plot_times(ev, out / "sumo_trip_times.png")
    _plot_paired(ev, out / "sumo_paired.png")
    _plot_junctions(ev, out / "sumo_junction_delay.png")
    s = ev.settings
    lines = [f"# {title}", "",
             f"Network: {ev.network_name}; each trip driven in the SUMO district within {s.margin_m:.0f} m "
             f"of its route; background traffic `{s.level}` "
             f"({LEVELS[s.level]:g} vehicles/h per km of road, seeded random local trips); "
             f"{len(s.seeds)} seeds x {len(s.depart_offsets_s)} departure times "
             f"(+{', +'.join(f'{o:.0f}' for o in s.depart_offsets_s)} s after a {s.warmup_s:.0f} s warm-up), "
             "each a paired set of runs: without the unit, no priority, blue light, green wave.", "",
             "## Unit trip times (seconds, mean over paired runs; min–max)", "",
             "| trip | route | signals | free flow | no priority | blue light | green wave | "
             "green wave vs free flow | saved vs no priority | saved vs blue light |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for f in figures:
        cells = [f"{_f(f['mean_s'][m.value])} ({_f(f['min_s'][m.value])}–{_f(f['max_s'][m.value])})"
                 + (f", {f['not_arrived'][m.value]} not arrived" if f["not_arrived"][m.value] else "")
                 for m in UNIT_MODES]
        over = f["green_wave_over_free_flow"]
        lines.append(f"| {f['unit']} ({f['kind']}) {f['label']} | {f['route_m']} m | {f['signals']} | "
                     f"{_f(f['free_flow_s'])} | " + " | ".join(cells) +
                     f" | {'—' if over is None else f'{100 * over:+.0f}%'} | "
                     f"{_pct(f['green_wave_saving_vs_no_priority'])} | "
                     f"{_pct(f['green_wave_saving_vs_blue_light'])} |")
    lines += ["", "## Delay imposed on other traffic (paired with the run without the unit)", "",
              "| trip | mode | net extra vehicle-s per run | vehicles delayed ≥1 s "
              "| delay per delayed vehicle (s) | vehicles earlier ≥1 s |",
              "| --- | --- | --- | --- | --- | --- |"]
    for f in figures:
        for m in UNIT_MODES:
            net, n = f["others_net_extra_vehicle_s"][m.value], f["others_vehicles_delayed"][m.value]
            lost, gained = f["others_delay_of_delayed_s"][m.value], f["others_vehicles_gained"][m.value]
            lines.append(f"| {f['unit']} | {LABEL[m]} | {net:.0f} | {n:.1f} | "
                         f"{_f(lost / n if n else None, '.1f')} | {gained:.1f} |")
    lines += ["", "Per corridor junction: extra halted vehicle-seconds on its approaches "
              "(mean over paired runs; negative means less waiting than without the unit).", "",
              "| trip | junction | no priority | blue light | green wave |",
              "| --- | --- | --- | --- | --- |"]
    for f in figures:
        per = f["junction_extra_halted_vehicle_s"]
        for sid in per[Mode.GREEN_WAVE.value]:
            cells = " | ".join(f"{per[m.value][sid]:.0f}" for m in UNIT_MODES)
            lines.append(f"| {f['unit']} | {sid} | {cells} |")
    lines += ["", "## Targets", ""]
    for f in figures:
        over, vs_np, vs_bl = (f["green_wave_over_free_flow"], f["green_wave_saving_vs_no_priority"],
                              f["green_wave_saving_vs_blue_light"])
        lines.append(f"- {f['unit']}: within 10% of free flow: {_met(over is not None and over <= 0.10)} "
                     f"({'—' if over is None else f'{100 * over:+.1f}%'}); ≥40% shorter than no priority: "
                     f"{_met(vs_np is not None and vs_np >= 0.40)} ({_pct(vs_np)}); "
                     f"≥15% shorter than blue light: {_met(vs_bl is not None and vs_bl >= 0.15)} "
                     f"({_pct(vs_bl)}); green-wave answers {f['green_wave_answers']}; "
                     f"steps with conflicting greens: {f['conflicting_green_steps']}; "
                     f"teleports: {f['teleports']}")
    lines += ["", "## Network conversion", ""]
    for t in ev.trips:
        vehicles = ", ".join(f"seed {k}: {v}" for k, v in t.background_vehicles.items())
        lines += [f"- {t.spec.unit_id}: district of {t.district_junctions} junctions, background vehicles "
                  f"{vehicles}"] + [f"  - {x}" for x in t.conversion.lines()]
    lines += ["", "## Plots", "", "![trip times](sumo_trip_times.png)", "",
              "![paired runs](sumo_paired.png)", "", "![junction delay](sumo_junction_delay.png)", ""]
    path = out / "sumo_report.md"
    path.write_text("\n".join(lines))
    return path


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _save(fig: Any, ax: Any, path: Path, title: str, ylabel: str) -> None:
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_times(ev: Evaluation, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 4))
    modes = (Mode.FREE_FLOW, *UNIT_MODES)
    width = 0.8 / len(modes)
    for k, m in enumerate(modes):
        xs, ys, lo, hi = [], [], [], []
        for i, t in enumerate(ev.trips):
            vals = [t.free_flow_s] if m is Mode.FREE_FLOW and t.free_flow_s else t.times(m)
            if not vals:
                continue
            mean = sum(vals) / len(vals)
            xs.append(i + k * width)
            ys.append(mean)
            lo.append(mean - min(vals))
            hi.append(max(vals) - mean)
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=LABEL[m])
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(ev.trips))], [t.spec.unit_id for t in ev.trips])
    _save(fig, ax, path, "Unit trip time in SUMO (mean, min–max over paired runs)", "trip time (s)")


def _plot_paired(ev: Evaluation, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    top = 0.0
    for m, marker in ((Mode.BLUE_LIGHT, "s"), (Mode.GREEN_WAVE, "o")):
        xs, ys = [], []
        for t in ev.trips:
            for p in t.pairs:
                a, b = p.unit_time(Mode.NO_PRIORITY), p.unit_time(m)
                if a is not None and b is not None:
                    xs.append(a)
                    ys.append(b)
        ax.scatter(xs, ys, marker=marker, label=LABEL[m])
        top = max([top, *xs, *ys])
    ax.plot([0, top], [0, top], color="grey", linewidth=0.8, label="no change")
    ax.set_xlabel("no priority (s)")
    _save(fig, ax, path, "Paired runs: same seed and departure", "with priority (s)")


def _plot_junctions(ev: Evaluation, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 4))
    labels: list[str] = []
    values: dict[Mode, list[float]] = {m: [] for m in UNIT_MODES}
    for t in ev.trips:
        per = {m: t.junction_delays(m) for m in UNIT_MODES}
        for sid in per[Mode.GREEN_WAVE]:
            labels.append(f"{t.spec.unit_id}\n{sid}")
            for m in UNIT_MODES:
                values[m].append(per[m].get(sid, 0.0))
    width = 0.8 / len(UNIT_MODES)
    for k, m in enumerate(UNIT_MODES):
        ax.bar([i + k * width for i in range(len(labels))], values[m], width, label=LABEL[m])
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(labels))], labels, fontsize=6, rotation=90)
    _save(fig, ax, path, "Other traffic's extra waiting per corridor junction (paired)",
          "extra halted vehicle-s")


def attach_to_kpi_report(kpi_dir: Path, sumo_dir: Path) -> None:
    """Put the SUMO figures into the replay's KPI report: its JSON gets a `sumo` entry, its HTML a
    section with the paired table and the plots (linked from the SUMO folder)."""
    figures = json.loads((sumo_dir / "sumo_evaluation.json").read_text())
    kpi_json = kpi_dir / "report.json"
    if kpi_json.exists():
        body = json.loads(kpi_json.read_text(encoding="utf-8"))
        body["sumo"] = figures
        kpi_json.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    kpi_html = kpi_dir / "report.html"
    if not kpi_html.exists():
        return
    rel = sumo_dir.relative_to(kpi_dir) if sumo_dir.is_relative_to(kpi_dir) else sumo_dir
    head = ["trip", "free flow", "no priority", "blue light", "green wave", "vs free flow",
            "saved vs no priority", "saved vs blue light", "others' net extra vehicle-s (green wave)"]
    rows = []
    for f in figures["trips"]:
        over = f["green_wave_over_free_flow"]
        rows.append([f"{f['unit']} ({f['kind']})", _f(f["free_flow_s"]),
                     *(_f(f["mean_s"][m.value]) for m in UNIT_MODES),
                     "—" if over is None else f"{100 * over:+.0f}%",
                     _pct(f["green_wave_saving_vs_no_priority"]), _pct(f["green_wave_saving_vs_blue_light"]),
                     f"{f['others_net_extra_vehicle_s'][Mode.GREEN_WAVE.value]:.0f}"])
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    section = (
        "<h2>Green wave in SUMO (paired runs)</h2>"
        f"<p>Background traffic {html.escape(figures['level'])}, seeds {figures['seeds']}, departures "
        f"+{figures['depart_offsets_s']} s; trip times in seconds, means over the paired runs. Details: "
        f"<a href='{rel}/sumo_report.md'>sumo_report.md</a>.</p>"
        "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + f"</tr>{cells}</table>"
        + "".join(f"<p><img src='{rel}/{png}' alt='{png}' style='max-width:100%'></p>"
                  for png in ("sumo_trip_times.png", "sumo_paired.png", "sumo_junction_delay.png")))
    text = kpi_html.read_text(encoding="utf-8")
    kpi_html.write_text(text.replace("</body>", section + "</body>", 1), encoding="utf-8")
