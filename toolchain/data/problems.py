"""Problems found while reading a data set, and how they are summarised for the user.

A `Problem` names one file (relative to the data set root, or the CSV itself), a short machine
code (`kind`), a sentence for humans, whether it makes the whole data set unusable (`fatal`) and
what loading does about it (`action`). Clip-level problems never abort a load: the clip is
skipped (action "skipped") or repaired (e.g. "resampled 44100->2000 Hz") and the load goes on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

SKIPPED = "skipped"
REFUSED = "refused"


@dataclass
class Problem:
    """One problem found in a data set.

    file: path relative to the data set root (or the CSV), e.g. "data/train/train17.aiff".
    kind: short machine code. Clip level: "unreadable" (I/O error), "corrupt", "empty",
        "truncated", "nan", "stereo", "sample_rate", "length", "subtype", "missing_file",
        "no_csv_row", "bad_label", "bad_row", "duplicate_row". Data-set level (fatal):
        "missing_csv", "missing_column", "missing_dir", "layout", "no_clips".
    message: human sentence naming the file and the value at fault.
    fatal: True when the whole data set is unusable (no CSV, missing columns, no clips);
        False when only this clip is skipped or repaired.
    action: what loading does: "skipped", "resampled 44100->2000 Hz", "padded 3500->4000",
        "cropped 4100->4000", "mixed to mono", "converted to float", "refused".
    """

    file: str
    kind: str
    message: str
    fatal: bool = False
    action: str = SKIPPED

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Problem:
        return cls(file=d["file"], kind=d["kind"], message=d["message"], fatal=bool(d["fatal"]),
                   action=d["action"])


def skipped_summary(skipped: list[Problem], total: int, limit: int = 10) -> str:
    """One line saying how many clips were left out and which (the first `limit`), with why.

    `total` is the number of clips the data set lists (kept + skipped).
    """
    if not skipped:
        return f"all {total} clips loaded"
    shown = ", ".join(f"{p.file} ({p.kind})" for p in skipped[:limit])
    more = f" and {len(skipped) - limit} more" if len(skipped) > limit else ""
    return f"skipped {len(skipped)} of {total} clips: {shown}{more}"
