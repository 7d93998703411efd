"""What chip mapping needs from a network: sizes, precisions, layer kinds and geometry (no weights).

`LayerShape` is one layer with neurons (a `flatten` node has none of its own: the next layer reads
the flattened population, channels first). Geometry follows the IR (`toolchain.ir.kinds`): shapes
channels first, a conv kernel [C_out, C_in / groups, *kernel] with per-axis stride, padding and
dilation; a 1-D layer has one spatial axis.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerShape:
    """One layer as chip mapping sees it.

    kind: "dense" | "conv" | "dense_rec" | "input"; n_in: inputs (for dense_rec the feed-forward ones;
    its n_out recurrent inputs come on top); weight_bits: 0 for a layer without synapses (input)."""

    kind: str
    n_in: int
    n_out: int
    weight_bits: int
    name: str = ""
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    kernel: tuple[int, ...] = ()
    stride: tuple[int, ...] = ()
    padding: tuple[int, ...] = ()
    dilation: tuple[int, ...] = ()
    groups: int = 1

    @property
    def has_synapses(self) -> bool:
        return self.kind != "input"

    @property
    def recurrent(self) -> bool:
        return self.kind == "dense_rec"

    def describe(self) -> str:
        """'conv 3x66x200 -> 24x32x99' and the like (for check details)."""
        fmt = lambda s: "x".join(map(str, s))  # noqa: E731
        shapes = (f"{fmt(self.in_shape)} -> {fmt(self.out_shape)}" if self.in_shape
                  else f"{self.n_in} -> {self.n_out}")
        return f"{self.kind} {shapes}" + (f" (+{self.n_out} recurrent)" if self.recurrent else "")


@dataclass(frozen=True)
class NetworkShape:
    """Sizes and precisions: what chip mapping needs (no weights)."""

    sizes: tuple[int, ...]  # neurons per stage, input first: (14175, 4096, 512, 64, 2)
    weight_bits: tuple[int, ...]  # per layer
    encoding: str = "graded_once"
    input_bits: int = 8  # graded payload bits (1 for spikes)
    kinds: tuple[str, ...] = ()  # layer kind per layer; empty: every layer dense
    geometry: tuple[LayerShape, ...] = ()  # per layer; empty: dense layers of `sizes`

    @property
    def layers(self) -> list[tuple[int, int, int]]:
        """(n_in, n_out, weight_bits) per layer."""
        return [(self.sizes[i], self.sizes[i + 1], self.weight_bits[i]) for i in range(len(self.sizes) - 1)]

    @property
    def layer_shapes(self) -> list[LayerShape]:
        """One LayerShape per layer (dense ones built from `sizes` when no geometry is given)."""
        if self.geometry:
            return list(self.geometry)
        kinds = list(self.kinds) or ["dense"] * len(self.layers)
        for i, kind in enumerate(kinds):
            if kind not in ("dense", "dense_rec"):
                raise ValueError(f"layer {i + 1} is a {kind!r} layer: its geometry must be given")
        return [LayerShape(kind, n_in, n_out, bits) for (n_in, n_out, bits), kind in zip(self.layers, kinds)]
