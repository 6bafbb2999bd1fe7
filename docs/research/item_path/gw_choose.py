"""Pick the validation-best GF-CF and path settings from gowalla_tune.json (ndcg@20) and print the test config JSON."""
import json, re
v = json.load(open("gowalla_tune.json"))["valid"]
out = {}
for fam in ("gfcf", "path"):
    name = max((n for n in v if n.startswith(fam)), key=lambda n: v[n][1])
    k = int(re.search(r"k=(\d+)", name).group(1)); al = float(re.search(r"alpha=([-\d.]+)", name).group(1))
    th = {"cooc": 1.0, "lowpass": al}
    m = re.search(r"cooc2=([-\d.]+)", name)
    if m: th["cooc2"] = float(m.group(1))
    out[("path " if fam == "path" else "gfcf ") + name.split(" ", 1)[1]] = {"k": k, "theta": th}
print(json.dumps(out))
