"""A real two-node Ray cluster on 127.0.0.1 in a process of its own (ray.cluster_utils.Cluster).

Run as `python -m tests.ray_cluster`: it starts a head and a worker node (1 CPU each), prints one
JSON line {"address", "head", "worker"} (node ids), then obeys lines on stdin: "kill-worker" removes
the worker node at once (its processes are killed), "stop" (or end of input) shuts the cluster down.
A process of its own, so Ray's settings (loopback address, token authentication from the
environment) are read at import, as in any Ray process.
"""

import json
import os
import sys


def main() -> None:
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # toolchain.train.sweep.pin_ray_to_loopback
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1",
                                                            "include_dashboard": False})
    try:
        worker = cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        print(json.dumps({"address": cluster.address, "head": cluster.head_node.node_id, "worker": worker.node_id,
                          "ips": [cluster.head_node.node_ip_address, worker.node_ip_address]}), flush=True)
        for line in sys.stdin:
            if line.strip() == "kill-worker":
                cluster.remove_node(worker, allow_graceful=False)
                print(json.dumps({"killed": worker.node_id}), flush=True)
            elif line.strip() == "stop":
                break
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
