#!/usr/bin/env python3
"""A Dask cluster on SLURM for evolearn runs, with dask-jobqueue (pip install dask-jobqueue).

On the cluster's login node, in a terminal that stays open (tmux, screen), in the environment
where evolearn is installed (the workers run the same Python):

    python examples/slurm_cluster.py --jobs 4 --cores 16 --memory 64GB --walltime 24:00:00 \\
        --queue cpu --scheduler_file ~/evolearn-scheduler.json

The scheduler runs in this process; it submits ``--jobs`` SLURM jobs of ``--cores`` Dask
workers each (one thread each), writes the scheduler file and waits until Ctrl-C, which ends
the jobs. A run then uses the cluster from anywhere that reaches the login node:

    python run-wlnn-mnist.py params/wlnn/backprop.yaml --scheduler ~/evolearn-scheduler.json

``--print_job_script`` prints the job script that would be submitted, and submits nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def make_cluster(args):
    from dask_jobqueue import SLURMCluster

    return SLURMCluster(
        cores=args.cores,
        processes=args.cores,  # one single-threaded worker process per core
        memory=args.memory,
        walltime=args.walltime,
        queue=args.queue,
        python=args.python,
        scheduler_options={
            "port": args.port,
            "dashboard_address": None,
            **({"host": args.host} if args.host else {}),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1, help="SLURM jobs of workers")
    parser.add_argument("--cores", type=int, default=16, help="cores (and workers) per job")
    parser.add_argument("--memory", default="64GB", help="memory per job")
    parser.add_argument("--walltime", default="24:00:00", help="time limit of each job")
    parser.add_argument("--queue", default=None, help="SLURM partition")
    parser.add_argument("--port", type=int, default=8786, help="the scheduler's port")
    parser.add_argument("--host", default=None, help="the scheduler's address (default: Dask's)")
    parser.add_argument("--python", default=sys.executable, help="the workers' Python")
    parser.add_argument("--scheduler_file", default="evolearn-scheduler.json")
    parser.add_argument("--print_job_script", action="store_true", help="print it, submit none")
    args = parser.parse_args()
    cluster = make_cluster(args)
    path = None
    try:
        if args.print_job_script:
            print(cluster.job_script())
            return
        path = os.path.expanduser(args.scheduler_file)
        with open(path, "x") as f:  # never over another cluster's file
            json.dump({"type": "Scheduler", "address": cluster.scheduler_address}, f)
        cluster.scale(jobs=args.jobs)
        print(f"Scheduler {cluster.scheduler_address}, written to {path}; {args.jobs} job(s) of "
              f"{args.cores} workers submitted. Ctrl-C ends them.", flush=True)  # fmt: skip
        while True:
            time.sleep(60)
    except KeyboardInterrupt:
        pass
    except FileExistsError:
        path = None
        sys.exit(f"{args.scheduler_file} exists: another cluster's? Remove it or choose another.")
    finally:
        cluster.close()
        if path is not None and os.path.exists(path):
            os.remove(path)


if __name__ == "__main__":
    main()
