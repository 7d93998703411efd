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
    kind: short machine code. Clip level: "unreadable" (I/O error, permission, a folder that
        cannot be listed), "not_a_file" (a directory, FIFO, device or socket where a file
        should be), "symlink" (a loop or a dangling link), "bad_name" (not UTF-8), "encrypted",
        "compression" (a zip method that cannot be read), "too_large", "corrupt", "empty",
        "truncated", "nan", "amplitude" (|sample| beyond the bound), "rate_out_of_range",
        "stereo", "sample_rate", "length", "subtype", "missing_file", "no_csv_row",
        "bad_label", "bad_row" (incl. NUL bytes, over-long fields, not UTF-8),
        "duplicate_row", "conflicting_labels". Data-set level (fatal): "missing_csv",
        "missing_column", "missing_dir", "layout", "no_clips", "corrupt_zip", "encoding",
        and the clip-level kinds above when they hit train.csv or the data set path itself.
    message: human sentence naming the file and the value at fault.
    fatal: True when the whole data set is unusable (no CSV, missing columns, no clips);
        False when only this clip is skipped or repaired.
    action: what loading does: "skipped", "resampled 44100->2000 Hz", "padded 3500->4000",
        "cropped 4100->4000", "mixed to mono", "converted to float", "refused", "row ignored"
        (a repeated CSV row with the same label), "not read" (a folder that cannot be listed).
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
