"""neurodeploy: from an snntorch SNN to a verified Loihi fixed-point deployment and an energy estimate.

Pipeline (one sub-package per stage):
    data -> represent -> (models) -> train -> quantize -> ir -> emulator | export (Lava, netx, NIR)
    -> counts -> energy (under hardware_profiles) -> report
"""

__version__ = "0.1.0"
