#!/usr/bin/env bash
# One video on a Slurm cluster: the plan on the submitting node, one array task per chunk, then the
# stitch. Every step is idempotent: resubmitting this script after a failure redoes only what is
# missing. The work folder (OUTPUT.srkit-work) must be on a file system all nodes share.
#
#   bash recipes/cluster/slurm_array.sh episode.mkv episode_x2.mkv --codec ffv1
#
# The stitch waits with "afterany", not "afterok": a requeued array task that then succeeds can
# leave an afterok dependency blocked for good. The stitch checks instead: it refuses, naming the
# chunks, when any is not done.
set -euo pipefail
input=$1 output=$2; shift 2
options=("$@")                         # the same options for every step (they are fingerprinted)
srkit upscale "$input" -o "$output" "${options[@]}" --quiet --step plan
chunks=$(python -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["scan"]["chunks"]))' \
         "$output.srkit-work/manifest.json")
array=$(sbatch --parsable --array=0-$((chunks - 1)) --requeue --cpus-per-task="${SRKIT_CPUS:-4}" \
        ${SRKIT_GPUS:+--gpus-per-task=$SRKIT_GPUS} --job-name=srkit-chunk \
        --wrap="srkit upscale '$input' -o '$output' ${options[*]} --quiet --step chunk")
sbatch --parsable --dependency=afterany:"$array" --job-name=srkit-stitch \
       --wrap="srkit upscale '$input' -o '$output' ${options[*]} --quiet --step stitch"
