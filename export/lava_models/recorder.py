"""Recorders for Lava runs that write what they see straight into a numpy memory-mapped file.

Lava's own Monitor and io.sink.RingBuffer keep their recording in a Var that the parent process
fetches at the end with `get()`; for populations of tens of thousands of neurons that transfer
dominates a run (PilotNet: 14 s to run 25 steps, 163 s to fetch the spikes). These processes do the
same recording (spikes from an OutPort in the spike phase, a Var through a RefPort in the
management phase, as Monitor does) but write each step into `path`, an .npy file the parent
created, so reading the recording is a file read.

    rec = SpikeRecorder(shape=lif.s_out.shape, steps=total, path="/tmp/s.npy")   # lif.s_out -> rec.a_in
    var = VarRecorder(var=lif.v, steps=total, path="/tmp/v.npy")
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyRefPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, RefPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol


def create_file(path: str, steps: int, shape) -> None:
    """The zero-filled int32 .npy file [steps, *shape] a recorder writes into."""
    np.lib.format.open_memmap(path, mode="w+", dtype=np.int32, shape=(int(steps), *tuple(shape))).flush()


class SpikeRecorder(AbstractProcess):
    """Records what arrives at `a_in` at every step into the .npy file `path` [steps, *shape]."""

    def __init__(self, *, shape, steps: int, path: str, name: str | None = None) -> None:
        super().__init__(shape=shape, steps=steps, path=path, name=name)
        create_file(path, steps, shape)
        self.a_in = InPort(shape=tuple(shape))


class VarRecorder(AbstractProcess):
    """Records a Var at every step (after the step's update) into the .npy file `path` [steps, *shape]."""

    def __init__(self, *, var, steps: int, path: str, name: str | None = None) -> None:
        super().__init__(steps=steps, path=path, name=name)
        create_file(path, steps, var.shape)
        self.ref = RefPort(var.shape)
        self.ref.connect_var(var)


class _FileModel(PyLoihiProcessModel):
    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._out = np.load(proc_params["path"], mmap_mode="r+")

    def _store(self, values) -> None:
        if self.time_step - 1 < self._out.shape[0]:
            self._out[self.time_step - 1] = np.asarray(values)
            if self.time_step == self._out.shape[0]:
                self._out.flush()


@implements(proc=SpikeRecorder, protocol=LoihiProtocol)
@requires(CPU)
class PySpikeRecorderModel(_FileModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self) -> None:
        self._store(self.a_in.recv())


@implements(proc=VarRecorder, protocol=LoihiProtocol)
@requires(CPU)
class PyVarRecorderModel(_FileModel):
    ref: PyRefPort = LavaPyType(PyRefPort.VEC_DENSE, np.int32, precision=24)

    def post_guard(self) -> bool:
        return True

    def run_post_mgmt(self) -> None:
        self._store(self.ref.read())
