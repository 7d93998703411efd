"""Front ends: anything that becomes a float network description (`FloatNetwork`) before quantisation.

- `float_net`: the FloatNetwork dataclass and its snntorch reference model.
- `from_snntorch`: an `nn.Sequential` (or documented module) of `nn.Linear` + `snn.Leaky`.
- `from_nir`: a NIR graph of Linear/Affine + LIF/CubaLIF/IF.
- neurodeploy's own trained runs provide `to_float_network()` on their models.
"""
