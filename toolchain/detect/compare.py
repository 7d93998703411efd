"""Two detectors on the same recordings, side by side: `neurodeploy detect-compare A B`.

A and B are `neurodeploy detect` output folders (their detect.json). They are compared only like
for like: the same recordings (paths, durations), the same truth calls, the same onset tolerance;
anything else is refused with the difference named. Per detector (figures read from detect.json,
nothing re-run):

- precision, recall, F1 and false alarms per hour at the threshold detect ran with;
- the best F1 over its precision-recall curve and the threshold giving it (tuned on these same
  recordings, so an optimistic figure; it is labelled so);
- latency to detection of the matched calls: median (and quartiles), s (`toolchain.detect.score`);
- effective synaptic operations per hour of audio: the energy report's deployed-SNN ops per
  classification (zeros skipped, recurrent included) x classifications per hour (windows per hour
  for a window detector; W-frame blocks per hour for the streaming one), so both come from the
  same counting code; a streaming run also reports the ops it counted over the whole stream;
- energy per hour of audio on every profile both priced: classification energy per hour (the
  dynamic part) and the total with static power (energy per day / listening hours per day).

Verdict sentences are computed from these figures: which F1 is higher, which latency is lower,
the ratio of synaptic operations and of energy per hour; if B (the streaming model, by
convention) is worse on a figure, the sentence says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from toolchain.core.errors import ConfigError


def load_detect(folder: str | Path) -> dict:
    """detect.json of a detect output folder (or the file itself)."""
    p = Path(folder)
    p = p / "detect.json" if p.is_dir() else p
    if not p.is_file():
        raise ConfigError(f"{folder}: no detect.json (run `neurodeploy detect ... --out {folder}` first)")
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{p}: not a readable detect.json ({exc})") from None


def _recordings(r: dict) -> list[tuple[str, float, int | None]]:
    return [(str(Path(x["recording"]).resolve()), round(float(x["duration_s"]), 3), x.get("truth_calls"))
            for x in r["recordings"] if x.get("status") == "ok"]


def _same_input(a: dict, b: dict, na: str, nb: str) -> None:
    ra, rb = _recordings(a), _recordings(b)
    if not ra:
        raise ConfigError(f"{na}: no recording was processed")
    if ra != rb:
        raise ConfigError(f"{na} and {nb} ran on different recordings ({[r[0] for r in ra]} vs {[r[0] for r in rb]}, "
                          "durations / truth calls as listed in their detect.json): no like-for-like comparison")
    if "tolerance_s" not in a:
        raise ConfigError(f"{na}: detect ran without --truth; nothing to compare")
    if "tolerance_s" not in b:
        raise ConfigError(f"{nb}: detect ran without --truth; nothing to compare")
    if abs(float(a["tolerance_s"]) - float(b["tolerance_s"])) > 1e-9:
        raise ConfigError(f"{na} matched events at an onset tolerance of {a['tolerance_s']:g} s, {nb} at "
                          f"{b['tolerance_s']:g} s: rerun detect with the same --tolerance for both")


def _best(curve: list[dict]) -> dict | None:
    pts = [p for p in curve or [] if p.get("f1") is not None]
    return max(pts, key=lambda p: (p["f1"], -p["false_alarms_per_hour"])) if pts else None


def summarise(r: dict, label: str) -> dict:
    """The comparable figures of one detect result (see the module docstring)."""
    d = r["detector"]
    day = r.get("energy_per_day")
    out = {"label": label, "network": r["network"], "detector": d["detector"], "unit": d["unit"],
           "threshold": r["threshold"], "hours": r["hours"],
           **{k: r.get(k) for k in ("precision", "recall", "f1", "false_alarms_per_hour", "events", "calls",
                                     "latency_median_s", "latency_q1_s", "latency_q3_s", "latency_calls")}}
    best = _best(r.get("pr_curve"))
    out["best"] = None if best is None else {k: best[k] for k in ("threshold", "precision", "recall", "f1",
                                                                  "false_alarms_per_hour", "events")}
    out["synops_per_hour"] = None
    out["energy_per_hour"] = {}
    if day:
        per_class = (day.get("synops_per_classification") or {}).get("effective_synops")
        per_hour = day["units_per_second"] * 3600
        out["classification_unit"] = day["unit"]
        out["classifications_per_hour"] = per_hour
        out["synops_per_classification"] = per_class
        out["synops_per_hour"] = None if per_class is None else per_class * per_hour
        listening = day["listening_hours_per_day"]
        for row in day["rows"]:
            if row["side"] != "snn":
                continue
            out["energy_per_hour"][row["profile"]] = {
                "classification_J": [v / listening for v in row["classification_J_per_day"]],
                "total_J": [v / listening for v in row["total_J_per_day"]], "lower_bound": row["lower_bound"]}
    counted = [x.get("stream_counts") for x in r["recordings"] if x.get("stream_counts")]
    if counted:
        ops = sum(c["effective_synops"] for c in counted)
        out["synops_per_hour_counted"] = ops / r["hours"] if r["hours"] else None
    return out


def _ratio(x, y):
    return None if x is None or y is None or y == 0 else x / y


def verdicts(a: dict, b: dict) -> list[str]:
    """Sentences computed from the two summaries (b measured against a)."""
    out = []
    name_b, name_a = f"{b['label']} ({b['detector']})", f"{a['label']} ({a['detector']})"
    if a["f1"] is not None and b["f1"] is not None:
        rel = "higher than" if b["f1"] > a["f1"] else "lower than" if b["f1"] < a["f1"] else "equal to"
        out.append(f"At the thresholds detect ran with, {name_b} has F1 {b['f1']:.3f}, {rel} {name_a}'s {a['f1']:.3f} "
                   f"({b['false_alarms_per_hour']:.1f} vs {a['false_alarms_per_hour']:.1f} false alarms per hour)"
                   + ("; the streaming model is worse here." if b["f1"] < a["f1"] else "."))
    if a["best"] and b["best"]:
        rel = "higher than" if b["best"]["f1"] > a["best"]["f1"] else "lower than" if b["best"]["f1"] < a["best"]["f1"] \
            else "equal to"
        out.append(f"At each one's best threshold on these recordings (tuned on them: optimistic), {name_b} reaches F1 "
                   f"{b['best']['f1']:.3f} (threshold {b['best']['threshold']:g}), {rel} {name_a}'s {a['best']['f1']:.3f} "
                   f"(threshold {a['best']['threshold']:g}).")
    la, lb = a["latency_median_s"], b["latency_median_s"]
    if la is not None and lb is not None:
        rel = "sooner than" if lb < la else "later than" if lb > la else "as soon as"
        out.append(f"Median latency to detection: {name_b} decides {lb:.2f} s after a call's onset, {rel} {name_a} ({la:.2f} s).")
    r = _ratio(b["synops_per_hour"], a["synops_per_hour"])
    if r is not None:
        out.append(f"{name_b} performs {r:.3g}x the synaptic operations per hour of audio of {name_a} "
                   f"({b['synops_per_hour']:.3g} vs {a['synops_per_hour']:.3g}).")
    for prof in sorted(set(a["energy_per_hour"]) & set(b["energy_per_hour"])):
        ea, eb = a["energy_per_hour"][prof], b["energy_per_hour"][prof]
        lo, hi = eb["classification_J"][0] / ea["classification_J"][1], eb["classification_J"][1] / ea["classification_J"][0]
        word = "less" if hi < 1 else "more" if lo > 1 else "undecided (ranges overlap)"
        out.append(f"{prof}: {name_b}'s classifications cost {lo:.3g}-{hi:.3g}x {name_a}'s per hour of audio ({word}); "
                   f"with static power the totals are {eb['total_J'][0]:.3g}-{eb['total_J'][1]:.3g} J vs "
                   f"{ea['total_J'][0]:.3g}-{ea['total_J'][1]:.3g} J per hour"
                   + (" (lower bounds: static or idle power not priced)" if ea["lower_bound"] or eb["lower_bound"] else "")
                   + ".")
    return out


def compare(a_dir: str | Path, b_dir: str | Path) -> dict:
    """The comparison of two detect results on the same recordings (see the module docstring)."""
    a, b = load_detect(a_dir), load_detect(b_dir)
    _same_input(a, b, str(a_dir), str(b_dir))
    sa, sb = summarise(a, str(a_dir)), summarise(b, str(b_dir))
    return {"recordings": [r[0] for r in _recordings(a)], "hours": a["hours"], "tolerance_s": a["tolerance_s"],
            "calls": a.get("calls"), "a": sa, "b": sb, "verdicts": verdicts(sa, sb)}
