#!/bin/bash
# everything after tune.py tl-4, one job at a time
cd /work/proto
export PYTHONPATH=/work/main:/work/proto OMP_NUM_THREADS=1
PY="nice /work/main/.venv/bin/python"
F='it/s\|%|\|Warn\|return torch'
while pgrep -f "tune.py tl-4" >/dev/null; do sleep 10; done
echo "chain start $(date -u)"
$PY final.py rs-4 2>&1 | grep --line-buffered -v "$F" > final_rs-4.log
$PY final.py tl-4 2>&1 | grep --line-buffered -v "$F" > final_tl-4.log
$PY exact.py 2>&1 | grep --line-buffered -v "$F" > exact.log
/usr/bin/time -v $PY gowalla.py tune 2>&1 | grep --line-buffered -v "$F" > gowalla_tune.log
CFG=$($PY gw_choose.py)
echo "$CFG" > gowalla_chosen.json
/usr/bin/time -v $PY gowalla.py test "$CFG" 2>&1 | grep --line-buffered -v "$F" > gowalla_test.log
$PY cold.py 2>&1 | grep --line-buffered -v "$F" > cold.log
echo "chain end $(date -u)"
