"""Hardware profiles: published constants for pricing operation counts, one TOML file per target.

A user adds a chip by adding a file (here, or anywhere and passing its path); no code changes.
Every file is validated on load; a bad profile is refused with a `ProfileError` naming the file
and the key ("loihi.toml: energy.synop: 'unit' is missing").

Schema
------
    [profile]                  name (by convention the file stem), kind, title, node, voltage?,
                               precision_bits?, technology?, evidence_level?, notes?
        kind: "neuromorphic" (prices the SNN; has resources, timing, static power),
              "ann"          (prices the ANN baseline only: system-level figures),
              "logic"        (45 nm logic + memory: prices both the SNN and the ANN at one technology
                              and one precision, `precision_bits`, so the comparison is like for like)
        technology: an identifier of the technology model; two profiles with the same identifier
              price on the same basis (the comparison rule "same_technology"); a logic profile's
              identifier is its own name unless given
        evidence_level: "technology_model" (published per-operation estimates of one process, logic
              profiles), "device_measurement" (every summed figure measured on the device itself),
              "per_op_figures" (per-operation figures from simulation, prototypes or derived from
              datasheets); default "per_op_figures" ("technology_model" for kind "logic")
    [energy.<term>]            energy per event   (units pJ, nJ, uJ, mJ, J)
    [power.<term>]             power              (units uW, mW, W)
    [timing.<term>]            durations          (units ns, us, ms, s)
    [resources.<term>]         limits             (units count, bits, bytes, KB, MB, flag); a [lo, hi]
                               range means "not published; the limit lies in this range"
    [anchors.<term>]           measured system-level figures quoted for context, never summed in
    [included]                 <component> = "where its cost already is": an energy component this
                               profile does not price separately because another figure contains it
                               (e.g. Loihi's synaptic-op energy includes the synaptic-memory read)
    [excluded]                 <component> = "why": outside this profile's scope on every side it
                               prices (e.g. static power in a dynamic-energy technology model)
    A component that applies, has counts, and is neither priced, included nor excluded makes the
    total a lower bound. Components: see toolchain.energy.price.COMPONENTS.

Every constant is a table with:
    value     a number, a [lo, hi] range, or (unit "flag") a boolean; >= 0, lo <= hi
    unit      one of the section's units
    evidence  measured | simulated | derived | calibrated | estimate | convention | spec | unpublished
              ("estimate": a published estimate such as Horowitz 2014's, not a measurement)
    scope     per-term | all-in          (energy and power only)
    source    citation and where in it   (required)
    node, voltage, note                  (optional strings)
    bound     "lower" | "upper"          (optional: the value is a bound of the true cost, not an
                                          estimate of it; a "lower" one makes every total using it a
                                          lower bound)
    stand_in  (required when evidence is "unpublished" and a value is given: what the value is
               and why it stands in; an unpublished entry without a value means "unknown")

Scope: "per-term" figures are summed term by term; an "all-in" figure is a total energy divided by
the count of one event (it already contains neuron updates, leakage, routing, memory), so a profile
whose energy terms are all-in is priced with those terms only and nothing is added on top. A profile
may not mix the two scopes in its energy terms.

Known terms (anything else is refused):
    energy:    synop (binary synaptic op, an accumulate), graded_synop (weight x payload, MAC-like),
               neuron_update, neuron_update_active, neuron_update_inactive,
               spike_message (one spike message from a core to one destination core),
               mac, activation,
               memory_read_64b (one 64-bit word read from the on-chip SRAM holding the weights),
               local_memory_64b (one 64-bit access, read or write, of the small local memory
               holding neuron state and partial sums), dram_read_64b (one 64-bit word from DRAM)
    power:     static_per_chip
    timing:    t_synop, t_neuron_update_active, t_neuron_update_inactive, t_barrier,
               t_barrier_multichip, time_per_step, latency_batch1 (an ANN profile's time for one
               classification at batch 1)
    resources: neurons_per_core, synaptic_memory_per_core, axons_in_per_core, axons_out_per_core,
               weight_bits_min, weight_bits_max, cores_per_chip, neurons_per_chip,
               synapses_per_chip, graded_spikes,
               synapse_list_header_bits, synapse_list_max_entries, memory_word_bits (how synapse
               lists are stored: a header per list of at most max_entries weights, rounded up to
               whole words; nengo-loihi's block.py accounting),
               shared_core_memory (flag: synaptic_memory_per_core also holds neuron state),
               neuron_state_bits (memory per neuron charged against a shared core memory),
               onchip_weight_memory (capacity of the on-chip SRAM for weights; more goes to DRAM),
               accumulator_bits (width of a partial sum / membrane input),
               conv_weight_sharing (flag: a convolutional kernel is stored once per core and indexed by
               every input axon; false or absent: conv synapses are expanded per input axon)
    anchors:   any name (energy units)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolchain.core.errors import ConfigError

PROFILE_DIR = Path(__file__).resolve().parent
KINDS = ("neuromorphic", "ann", "logic")
EVIDENCE = ("measured", "simulated", "derived", "calibrated", "estimate", "convention", "spec", "unpublished")
EVIDENCE_LEVELS = ("technology_model", "device_measurement", "per_op_figures")
BOUNDS = ("lower", "upper")
# energy components a profile may declare [included] or [excluded] (toolchain.energy.price.COMPONENTS less compute)
COMPONENT_NAMES = ("weight_reads", "dram", "accumulator", "state", "neuron", "routing", "static")
SCOPES = ("per-term", "all-in")
UNITS: dict[str, dict[str, float]] = {
    "energy": {"pJ": 1e-12, "nJ": 1e-9, "uJ": 1e-6, "mJ": 1e-3, "J": 1.0},
    "power": {"uW": 1e-6, "mW": 1e-3, "W": 1.0},
    "timing": {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0},
    "resources": {"count": 1.0, "bits": 1.0, "bytes": 8.0, "KB": 8.0 * 1024, "MB": 8.0 * 1024 ** 2,
                  "flag": 1.0},
    "anchors": {"pJ": 1e-12, "nJ": 1e-9, "uJ": 1e-6, "mJ": 1e-3, "J": 1.0},
}
# SI base of each section after conversion: J, W, s, and counts/bits for resources.
TERMS: dict[str, tuple[str, ...] | None] = {
    "energy": ("synop", "graded_synop", "neuron_update", "neuron_update_active",
               "neuron_update_inactive", "spike_message", "mac", "activation", "memory_read_64b",
               "local_memory_64b", "dram_read_64b"),
    "power": ("static_per_chip",),
    "timing": ("t_synop", "t_neuron_update_active", "t_neuron_update_inactive", "t_barrier",
               "t_barrier_multichip", "time_per_step", "latency_batch1"),
    "resources": ("neurons_per_core", "synaptic_memory_per_core", "axons_in_per_core",
                  "axons_out_per_core", "weight_bits_min", "weight_bits_max", "cores_per_chip",
                  "neurons_per_chip", "synapses_per_chip", "graded_spikes", "synapse_list_header_bits",
                  "synapse_list_max_entries", "memory_word_bits", "shared_core_memory", "neuron_state_bits",
                  "onchip_weight_memory", "accumulator_bits", "conv_weight_sharing"),
    "anchors": None,  # free names
}
PROFILE_KEYS = ("name", "kind", "title", "node", "voltage", "precision_bits", "technology", "evidence_level",
                "notes")
CONSTANT_KEYS = ("value", "unit", "evidence", "scope", "source", "node", "voltage", "note", "stand_in", "bound")
REQUIRED_TERMS = {
    "neuromorphic": ("energy.synop", "resources.cores_per_chip"),
    "ann": ("energy.mac",),
    "logic": ("energy.mac", "energy.synop", "energy.graded_synop", "energy.neuron_update"),
}


class ProfileError(ConfigError):
    """A hardware profile file is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class Constant:
    """One published (or explicitly unpublished) constant, converted to SI (J, W, s, bits, counts)."""

    key: str  # "energy.synop"
    lo: float | None  # SI; None when unknown (unpublished without a stand-in)
    hi: float | None
    unit: str
    evidence: str
    source: str
    scope: str | None = None
    raw: Any = None  # the value as written in the file, in `unit`
    node: str | None = None
    voltage: str | None = None
    note: str | None = None
    stand_in: str | None = None
    bound: str | None = None  # "lower" / "upper": the value bounds the true cost

    @property
    def known(self) -> bool:
        return self.lo is not None

    @property
    def is_range(self) -> bool:
        return self.known and self.lo != self.hi

    def cite(self) -> dict[str, Any]:
        """The constant as plain data for reports (value in the file's unit, with its provenance)."""
        out = {"key": self.key, "value": self.raw, "unit": self.unit, "evidence": self.evidence,
               "source": self.source}
        for name in ("scope", "node", "voltage", "note", "stand_in", "bound"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


@dataclass
class Profile:
    """A validated hardware profile."""

    name: str
    kind: str
    title: str
    node: str
    path: Path
    constants: dict[str, Constant]
    voltage: str | None = None
    precision_bits: int | None = None
    notes: str | None = None
    anchors: dict[str, Constant] = field(default_factory=dict)
    technology: str | None = None  # same identifier on two profiles = the same technology model
    evidence_level: str = "per_op_figures"
    included: dict[str, str] = field(default_factory=dict)  # component -> the figure that contains it
    excluded: dict[str, str] = field(default_factory=dict)  # component -> why it is out of scope

    def get(self, key: str) -> Constant | None:
        """The constant `section.term`, or None when the profile does not define it."""
        return self.constants.get(key)

    def known(self, key: str) -> Constant | None:
        """The constant when defined with a usable value (not unpublished-without-stand-in)."""
        c = self.constants.get(key)
        return c if c is not None and c.known else None

    @property
    def all_in(self) -> bool:
        """True when the energy terms are all-in figures (price them alone, add nothing)."""
        return any(c.scope == "all-in" for k, c in self.constants.items() if k.startswith("energy."))


def list_profiles() -> list[str]:
    """Names of the profiles shipped with neurodeploy (file stems in this package)."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str | os.PathLike) -> Profile:
    """Load and validate a shipped profile by name ("loihi") or any profile file by path."""
    text = str(name_or_path)
    path = Path(text)
    if not (path.suffix == ".toml" or os.sep in text or path.is_file()):
        path = PROFILE_DIR / f"{text}.toml"
        if not path.is_file():
            raise ProfileError(f"unknown hardware profile {text!r}; shipped profiles: "
                               f"{', '.join(list_profiles())} (or pass the path of a .toml file)")
    if not path.is_file():
        raise ProfileError(f"hardware profile file {path} does not exist")
    import tomli

    try:
        data = tomli.loads(path.read_text(encoding="utf-8"))
    except (tomli.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: not valid TOML ({exc})") from None
    return _validate(data, path)


def _fail(path: Path, key: str, msg: str) -> ProfileError:
    return ProfileError(f"{path.name}: {key}: {msg} (file {path})")


def _validate(data: dict, path: Path) -> Profile:
    for top in data:
        if top not in ("profile", "included", "excluded") and top not in TERMS:
            raise _fail(path, top, f"unknown section (allowed: profile, {', '.join(TERMS)}, included, excluded)")
    head = data.get("profile")
    if not isinstance(head, dict):
        raise _fail(path, "profile", "the [profile] table is missing")
    for key in head:
        if key not in PROFILE_KEYS:
            raise _fail(path, f"profile.{key}", f"unknown key (allowed: {', '.join(PROFILE_KEYS)})")
    for key in ("name", "kind", "title", "node"):
        if not isinstance(head.get(key), str) or not head[key].strip():
            raise _fail(path, f"profile.{key}", "is missing or not a non-empty string")
    if head["kind"] not in KINDS:
        raise _fail(path, "profile.kind", f"{head['kind']!r} is not one of {KINDS}")
    precision = head.get("precision_bits")
    if precision is not None and (not isinstance(precision, int) or isinstance(precision, bool) or precision < 1):
        raise _fail(path, "profile.precision_bits", f"{precision!r} must be a positive integer")
    if head["kind"] == "logic" and precision is None:
        raise _fail(path, "profile.precision_bits", "is required for kind 'logic' (the bits of every weight and operand)")
    for key in ("technology", "evidence_level", "notes", "voltage"):
        if key in head and (not isinstance(head[key], str) or not head[key].strip()):
            raise _fail(path, f"profile.{key}", "must be a non-empty string")
    level = head.get("evidence_level", "technology_model" if head["kind"] == "logic" else "per_op_figures")
    if level not in EVIDENCE_LEVELS:
        raise _fail(path, "profile.evidence_level", f"{level!r} is not one of {EVIDENCE_LEVELS}")
    scoped: dict[str, dict[str, str]] = {}
    for section in ("included", "excluded"):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise _fail(path, section, "must be a table of component = \"reason\"")
        for comp, why in table.items():
            if comp not in COMPONENT_NAMES:
                raise _fail(path, f"{section}.{comp}", f"unknown component (allowed: {', '.join(COMPONENT_NAMES)})")
            if not isinstance(why, str) or not why.strip():
                raise _fail(path, f"{section}.{comp}", "must say where the cost is (included) or why it is out of scope (excluded)")
        scoped[section] = dict(table)
    both = sorted(set(scoped["included"]) & set(scoped["excluded"]))
    if both:
        raise _fail(path, f"excluded.{both[0]}", "is declared both included and excluded")

    constants: dict[str, Constant] = {}
    anchors: dict[str, Constant] = {}
    for section, allowed in TERMS.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise _fail(path, section, "must be a table of constants")
        for term, entry in table.items():
            key = f"{section}.{term}"
            if allowed is not None and term not in allowed:
                raise _fail(path, key, f"unknown term (allowed in [{section}]: {', '.join(allowed)})")
            const = _constant(entry, key, section, path)
            (anchors if section == "anchors" else constants)[key] = const
    for key in REQUIRED_TERMS[head["kind"]]:
        if key not in constants or not constants[key].known:
            raise _fail(path, key, f"is required for kind {head['kind']!r} and must have a value")
    scopes = {c.scope for k, c in constants.items() if k.startswith("energy.")}
    if len(scopes) > 1:
        mixed = sorted(k for k, c in constants.items() if k.startswith("energy.") and c.scope == "all-in")
        raise _fail(path, mixed[0], "mixes 'all-in' and 'per-term' energy terms: an all-in figure already "
                    "contains every other cost, so nothing may be priced beside it")
    technology = head.get("technology") or (head["name"] if head["kind"] == "logic" else None)
    return Profile(name=head["name"], kind=head["kind"], title=head["title"], node=head["node"], path=path,
                   constants=constants, voltage=head.get("voltage"), precision_bits=precision,
                   notes=head.get("notes"), anchors=anchors, technology=technology, evidence_level=level,
                   included=scoped["included"], excluded=scoped["excluded"])


def _constant(entry: Any, key: str, section: str, path: Path) -> Constant:
    if not isinstance(entry, dict):
        raise _fail(path, key, "must be a table with value, unit, evidence, source")
    for k in entry:
        if k not in CONSTANT_KEYS:
            raise _fail(path, f"{key}.{k}", f"unknown field (allowed: {', '.join(CONSTANT_KEYS)})")
    for k in ("unit", "evidence", "source"):
        if not isinstance(entry.get(k), str) or not entry[k].strip():
            raise _fail(path, key, f"'{k}' is missing or not a non-empty string")
    unit, evidence = entry["unit"], entry["evidence"]
    if unit not in UNITS[section]:
        raise _fail(path, f"{key}.unit", f"{unit!r} is not a unit of [{section}] ({', '.join(UNITS[section])})")
    if evidence not in EVIDENCE:
        raise _fail(path, f"{key}.evidence", f"{evidence!r} is not one of {EVIDENCE}")
    scope = entry.get("scope")
    if section in ("energy", "power"):
        if scope not in SCOPES:
            raise _fail(path, f"{key}.scope", f"{scope!r} must be one of {SCOPES}")
    elif scope is not None:
        raise _fail(path, f"{key}.scope", f"scope applies to energy and power only, not [{section}]")
    for k in ("node", "voltage", "note", "stand_in"):
        if k in entry and not isinstance(entry[k], str):
            raise _fail(path, f"{key}.{k}", "must be a string")
    if "bound" in entry and entry["bound"] not in BOUNDS:
        raise _fail(path, f"{key}.bound", f"{entry['bound']!r} must be one of {BOUNDS}")
    if "value" not in entry:
        if evidence != "unpublished":
            raise _fail(path, f"{key}.value", "is missing (only an 'unpublished' entry may omit it)")
        lo = hi = None
    else:
        if evidence == "unpublished" and not entry.get("stand_in"):
            raise _fail(path, f"{key}.stand_in", "an unpublished value is a stand-in: say what it is and why")
        lo, hi = _value(entry["value"], unit, key, path)
        factor = UNITS[section][unit]
        if unit != "flag":
            lo, hi = lo * factor, hi * factor
    return Constant(key=key, lo=lo, hi=hi, unit=unit, evidence=evidence, source=entry["source"], scope=scope,
                    raw=entry.get("value"), node=entry.get("node"), voltage=entry.get("voltage"),
                    note=entry.get("note"), stand_in=entry.get("stand_in"), bound=entry.get("bound"))


def _value(value: Any, unit: str, key: str, path: Path) -> tuple[float, float]:
    if unit == "flag":
        if not isinstance(value, bool):
            raise _fail(path, f"{key}.value", f"{value!r} must be true or false for unit 'flag'")
        return float(value), float(value)
    if isinstance(value, bool):
        raise _fail(path, f"{key}.value", f"{value!r} is a boolean; unit {unit!r} needs a number")
    if isinstance(value, (int, float)):
        lo = hi = float(value)
    elif isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        lo, hi = float(value[0]), float(value[1])
        if lo > hi:
            raise _fail(path, f"{key}.value", f"range [{value[0]}, {value[1]}] has lo > hi")
    else:
        raise _fail(path, f"{key}.value", f"{value!r} must be a number or a [lo, hi] pair")
    if lo < 0:
        raise _fail(path, f"{key}.value", f"{value!r} is negative")
    return lo, hi
