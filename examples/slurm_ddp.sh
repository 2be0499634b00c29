#!/bin/bash
# Data-parallel `gnn train` on several Slurm nodes: one torchrun per node, one process per GPU.
#
#   sbatch examples/slurm_ddp.sh tox21.csv --split scaffold --epochs 50 --out runs/tox21-ddp
#
# Every node must see the input file and the featurization cache (GNN_CACHE_DIR) on a shared
# filesystem; rank 0 (on the first node) alone writes the run folder. --batch-size is per GPU:
# the effective batch is nodes x GPUs per node x --batch-size.
#SBATCH --job-name=gnn-ddp
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1          # one torchrun per node; it starts the processes
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=32
#SBATCH --time=04:00:00

set -euo pipefail

GPUS_PER_NODE=${SLURM_GPUS_ON_NODE:-4}
MASTER=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
export OMP_NUM_THREADS=$(( ${SLURM_CPUS_PER_TASK:-8} / GPUS_PER_NODE ))
export GNN_CACHE_DIR=${GNN_CACHE_DIR:-$PWD/.gnn-cache}

srun torchrun \
    --nnodes "$SLURM_NNODES" \
    --nproc-per-node "$GPUS_PER_NODE" \
    --rdzv-id "$SLURM_JOB_ID" \
    --rdzv-backend c10d \
    --rdzv-endpoint "$MASTER:29500" \
    -m gnncli train "$@" --device cuda
