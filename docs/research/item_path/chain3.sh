#!/bin/bash
cd /work/proto
export PYTHONPATH=/work/main:/work/proto OMP_NUM_THREADS=1
while kill -0 24102 2>/dev/null; do sleep 5; done
nice /work/main/.venv/bin/python final.py tl-4 0,1,2 foldin 2>&1 | grep --line-buffered -v 'it/s\|%|\|Warn\|return torch' > final_tl-4_foldin.log
echo "chain3 end $(date -u)"
