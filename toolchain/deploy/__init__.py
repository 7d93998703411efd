"""Deploy: any snntorch / NIR / float network -> the Loihi fixed-point IR, and back from disk.

    api.py        deploy_snntorch / deploy_nir / deploy_netx / deploy_float -> Deployment (save, verify)
    artifacts.py  the quantise folder's file names; resolve_ir_path / load_deployment
    features.py   features for deployment-side commands from a data path (or a .npy file)
"""

from toolchain.deploy.api import Deployment, deploy_float, deploy_netx, deploy_nir, deploy_snntorch
from toolchain.deploy.artifacts import (
           FLOAT_FILE,
           IR_FILE,
           REPORT_FILE,
           load_deployment,
           resolve_ir_path,
)

__all__ = ["FLOAT_FILE", "IR_FILE", "REPORT_FILE", "Deployment", "deploy_float", "deploy_netx", "deploy_nir",
           "deploy_snntorch", "load_deployment", "resolve_ir_path"]
