"""Detection on long recordings: a deployed network slid over hours of audio.

    source.py      recordings read from disk in blocks (first channel, resampled as the loader does)
    windows.py     sliding analysis windows over the block stream
    detectors.py   the Detector interface and registry; the windowed detector (emulator)
    streaming.py   the streaming detector: a "frames" network run frame by frame, never reset
    events.py      positive units merged into events
    raven.py       Raven Pro selection tables, written and read
    score.py       event-level precision / recall / F1, false alarms per hour, PR curve
    energy_day.py  energy per day of monitoring and battery life on every hardware profile
    run.py         `neurodeploy detect`: all of it over several recordings, outputs written atomically
The synthetic long recording with known call times is `toolchain.data.recording`.
"""

from toolchain.detect.detectors import DETECTORS, Detector, DetectorRun, detector_for, register
from toolchain.detect.events import Event, merge_events
from toolchain.detect.raven import Selection, read_table, write_table
from toolchain.detect.run import DetectOptions, detect
from toolchain.detect.streaming import StreamingDetector  # registers the "streaming" detector

__all__ = ["DETECTORS", "DetectOptions", "Detector", "DetectorRun", "Event", "Selection", "StreamingDetector", "detect", "detector_for",
           "merge_events", "read_table", "register", "write_table"]
