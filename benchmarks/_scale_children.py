"""The child processes of ``benchmarks/scale.py``: Python source run with ``python -c CODE ARGS``, each
printing one JSON line (its figures, peak ``VmHWM`` and largest ``RssAnon`` from ``/proc/self/status``,
and the largest ``VmRSS`` per phase, sampled at 20 Hz). See scale.py's docstring for the steps."""

# shared by every child: peak memory from /proc (ru_maxrss would keep the forking parent's peak)
PRELUDE = r"""
import json, sys, threading, time
def vm(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0
class _Peak(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True); self.anon = 0.0; self.phase = "start"; self.phases = {}
    def run(self):
        while True:
            a, r = vm("RssAnon"), vm("VmRSS"); self.anon = max(self.anon, a)
            self.phases[self.phase] = max(self.phases.get(self.phase, 0.0), r); time.sleep(0.05)
PEAK = _Peak(); PEAK.start()
def done(**kw):
    print(json.dumps({**kw, "peak_rss_mb": vm("VmHWM"), "peak_anon_mb": max(PEAK.anon, vm("RssAnon")),
                      "phase_rss_mb": PEAK.phases}))
"""

INGEST = PRELUDE + r"""
from serendip.workbench import Workspace
from serendip.workspace.config import CONFIG_NAME
ws = Workspace.init(sys.argv[1])
if len(sys.argv) > 3 and sys.argv[3] != ws.config.retrieval.encoder:  # the workspace's encoder (--encoder)
    ws.config.retrieval.encoder = sys.argv[3]; ws.config.dump(ws.path / CONFIG_NAME)
    ws = Workspace.open(sys.argv[1]); assert ws.config.retrieval.encoder == sys.argv[3]
t = time.perf_counter(); rep = ws.ingest([sys.argv[2]])
done(ingested=rep.ingested, failed=rep.failed, wall_s=time.perf_counter() - t)
"""

BM25 = PRELUDE + r"""
from serendip.workbench import Workspace
ws = Workspace.open(sys.argv[1]); t = time.perf_counter(); rep = ws.index(dense=False)
wall = time.perf_counter() - t
meta = json.load(open(ws.index_dir / "bm25" / "serendip_bm25.json"))
done(wall_s=wall, records=rep.records, backend=meta.get("backend", "bm25s"))
"""

EMBED = PRELUDE + r"""
import numpy as np
from serendip.workbench import Workspace
from serendip.retrieval.dense import doc_text
from serendip.retrieval.encoders import get_encoder
ws = Workspace.open(sys.argv[1]); m = int(sys.argv[3]); cfg = ws.config.retrieval
recs = list(ws.records(range(1, m + 1)))
texts = [doc_text(r.title, r.abstract) for _, r in recs]
t = time.perf_counter(); enc = get_encoder(cfg.encoder, cfg.dense_model)
enc.encode(texts[:8], 64); load_s = time.perf_counter() - t  # model load + first 8 texts, not in docs/s
t = time.perf_counter(); v = np.asarray(enc.encode(texts, 64), dtype=np.float32); wall = time.perf_counter() - t
np.save(sys.argv[2], v / np.linalg.norm(v, axis=1, keepdims=True))
done(ids=[int(i) for i, _ in recs], docs=len(texts), wall_s=wall, load_s=load_s, encoder=cfg.encoder)
"""

PREP = r"""
import json, sys
import numpy as np
from serendip.workbench import Workspace
from serendip.retrieval.dense import TITLE_ABSTRACT_SEP, doc_text
from serendip.retrieval.dense_checkpoint import PARTIAL_NAME, EmbeddingCheckpoint, text_hash
from serendip.retrieval.encoders import ENCODERS
sys.path.insert(0, sys.argv[4])
from scale import vectors_for
ws = Workspace.open(sys.argv[1]); real = np.load(sys.argv[2]); real_ids = json.loads(sys.argv[3])
cfg = ws.config.retrieval
ck = EmbeddingCheckpoint(ws.index_dir / PARTIAL_NAME, key={"model": cfg.dense_model,
     "encoder": ENCODERS.get(cfg.encoder).name, "title_abstract_sep": TITLE_ABSTRACT_SEP})
ids, hashes, n = [], [], 0
def flush():
    global ids, hashes
    ck.add(ids, hashes, vectors_for([int(i) for i in ids], real, real_ids)); ids, hashes = [], []
for rid, rec in ws.records():
    text = doc_text(rec.title, rec.abstract)
    if text is None:
        continue
    ids.append(str(rid)); hashes.append(text_hash(text)); n += 1
    if len(ids) == 10_000:
        flush()
if ids:
    flush()
ck.flush()
print(json.dumps({"vectors": n}))
"""

DENSE = PRELUDE + r"""
import serendip.retrieval.bm25_backends as bb
from serendip.workbench import Workspace
ws = Workspace.open(sys.argv[1]); marks = {}
_build = bb.build_bm25
def build(*a, **kw):  # timing only: when the BM25 index is saved, the dense part starts
    index = _build(*a, **kw); save = index.save
    def timed_save(folder):
        save(folder); marks["bm25 saved"] = time.perf_counter(); PEAK.phase = "dense"
    index.save = timed_save
    return index
bb.build_bm25 = build
def steps(name, total):
    PEAK.phase = name; marks[name] = time.perf_counter()
    def advance(k):
        marks[name + " done"] = time.perf_counter()
        if name.endswith(" index"):
            PEAK.phase = "dense save"
    return advance
t = time.perf_counter(); rep = ws.index(dense=True, steps=steps); end = time.perf_counter()
assert rep.dense_added == 0 and rep.dense_resumed == rep.dense_total, rep
meta = json.load(open(ws.index_dir / "dense" / "meta.json"))
ann = [k for k in marks if k.endswith(" index")]
ann_s = marks[ann[0] + " done"] - marks[ann[0]] if ann else 0.0
dense_rss = max(v for k, v in PEAK.phases.items() if k.startswith("dense") or k.endswith(" index"))
done(wall_s=end - t, dense_s=end - marks["bm25 saved"], bm25_s=marks["bm25 saved"] - t, vectors=rep.dense_total,
     backend=meta["backend"], ann_build_s=ann_s, dense_phase_rss_mb=dense_rss)
"""

WARM = PRELUDE + r"""
import numpy as np
from serendip.workbench import Workspace
ws = Workspace.open(sys.argv[1]); queries = json.loads(open(sys.argv[2]).read()); out = {}
for mode in sys.argv[3].split(","):
    for q in queries[:5]:
        ws.search(q, mode=mode, k=10)
    lat = []
    for q in queries:
        t = time.perf_counter(); hits = ws.search(q, mode=mode, k=10); lat.append(time.perf_counter() - t)
        assert hits, (mode, q)
    out[mode] = {"p50_ms": 1000 * float(np.percentile(lat, 50)), "p95_ms": 1000 * float(np.percentile(lat, 95))}
done(modes=out, rss_anon_end_mb=vm("RssAnon"), rss_end_mb=vm("VmRSS"))
"""
