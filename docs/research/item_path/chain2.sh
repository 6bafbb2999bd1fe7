#!/bin/bash
cd /work/proto
export PYTHONPATH=/work/main:/work/proto OMP_NUM_THREADS=1
PY="nice /work/main/.venv/bin/python"
F='it/s\|%|\|Warn\|return torch'
while kill -0 23552 2>/dev/null; do sleep 5; done
echo "chain2 start $(date -u)"
$PY final.py tl-4 0,1,2 foldin 2>&1 | grep --line-buffered -v "$F" > final_tl-4_foldin.log
echo "tl4 foldin done $(date -u)"
CFG=$($PY gw_choose.py)
echo "$CFG" > gowalla_chosen.json
/usr/bin/time -v $PY gowalla.py test "$CFG" 2>&1 | grep --line-buffered -v "$F" > gowalla_test.log
echo "gowalla test done $(date -u)"
$PY cold.py 2>&1 | grep --line-buffered -v "$F" > cold.log
echo "cold done $(date -u)"
$PY final.py rs-4 0,1,2 2>&1 | grep --line-buffered -v "$F" > final_rs-4_pooled.log
echo "chain2 end $(date -u)"
