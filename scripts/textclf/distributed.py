"""Training on several processes: DistributedDataParallel under torchrun, on GPUs (NCCL) or CPUs
(Gloo).

A stage runs distributed when torchrun's environment says so (RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE), started either by `torchrun ... -m textclf train` or by `launch` (what the
train and finetune rules call with their `processes` resource), which runs torchrun's own
engine (`torch.distributed.launcher`) in the rule's job.

What the trainer needs from it (`Ranks`): its device, its share of every global batch, sums
over all ranks, decisions broadcast from rank 0, and the model wrapped for the parameters that
train now. A process that is not under torchrun is a world of one, and every call is a no-op.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket

import torch
import torch.distributed as dist

from textclf.logs import environment

log = logging.getLogger(__name__)
# Rank 0 validates while the others wait in a broadcast: allow for a long validation.
TIMEOUT = datetime.timedelta(hours=3)


class Ranks:
    """This process's place among the training processes."""

    def __init__(self):
        self.rank, self.size = environment()
        self.local_rank = int(os.environ.get("LOCAL_RANK", 0))
        self.local_size = int(os.environ.get("LOCAL_WORLD_SIZE", self.size))
        self.device = torch.device("cpu")  # until start()

    @property
    def main(self) -> bool:
        return self.rank == 0

    def start(self) -> torch.device:
        """Join the process group (once per process); this rank's device."""
        cuda = torch.cuda.is_available()
        self.device = torch.device(f"cuda:{self.local_rank}" if cuda else "cpu")
        if cuda:
            torch.cuda.set_device(self.device)
        if self.size > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if cuda else "gloo", timeout=TIMEOUT)
            log.info("rank %d of %d on %s", self.rank, self.size, self.device)
        return self.device

    def threads(self, job_threads: int) -> int:
        """Torch threads of one rank: the job's CPUs shared by the ranks on this node."""
        return max(1, job_threads // self.local_size)

    def share(self, batch: list[int]) -> tuple[list[int], bool]:
        """(this rank's rows of a global batch, whether they count). A global batch is dealt
        round-robin, so length-grouped batches stay balanced; a rank left without rows (an
        uneven last batch) still takes part in the step, on one row at weight 0, so no rank
        waits for it and the loss is not skewed."""
        mine = batch[self.rank :: self.size]
        return (mine, True) if mine else (batch[:1], False)

    def sum(self, values: list[float]) -> list[float]:
        """The sums over all ranks of a few numbers (the numbers themselves in a world of
        one); in float64, on this rank's device (NCCL reduces GPU tensors only)."""
        if self.size == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def broadcast(self, value):
        """Rank 0's `value` on every rank (any picklable object)."""
        if self.size == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def wrap(self, model):
        """The model for the training steps. DDP registers the parameters that require grad when
        it wraps, so it is wrapped again whenever unfreezing opens more (see training.train);
        wrapping also broadcasts rank 0's weights, which keeps the ranks equal."""
        if self.size == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.local_rank] if torch.cuda.is_available() else None
        # the encoder's buffers (position and token type ids) are constants: no broadcasts
        return DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank_main(function, kwargs: dict, log_path):
    """A worker of `launch`: its own log (rank 0 adds to the job's), then the stage."""
    from textclf.logs import setup_logging

    setup_logging(log_path)
    try:
        return function(**kwargs)
    finally:
        finish()


def finish() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_initialized():
        dist.destroy_process_group()


def processes(resources) -> int:
    """How many processes a training job runs, from its resources: one per GPU where the job
    asks for GPUs (`gpu`), else `processes` CPU processes (default 1)."""
    return int(resources.get("gpu", 0) or resources.get("processes", 1) or 1)


def launch(function, kwargs: dict, processes: int = 1, log_path=None) -> list:
    """Run `function(**kwargs)` in `processes` processes on this machine, as `torchrun
    --nproc_per_node` would (torchrun's engine, rendezvous on 127.0.0.1), or in this process
    when 1. Every rank's result, in rank order."""
    if processes <= 1:
        return [function(**kwargs)]
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=processes,
        rdzv_backend="c10d",
        rdzv_endpoint=f"127.0.0.1:{free_port()}",
        run_id=f"textclf-{os.getpid()}",
        max_restarts=0,
        monitor_interval=1,
    )
    log.info("%s in %d processes (torchrun's engine)", function.__name__, processes)
    results = elastic_launch(config, _rank_main)(function, kwargs, log_path)
    return [results[rank] for rank in sorted(results)]
