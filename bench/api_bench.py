"""Benchmark POST /api/v1/analyze/ behind gunicorn against the bare pipeline, and the anomaly AUROC.

    nice .venv/bin/python bench/api_bench.py --model /path/to/model-folder \
        --manifest bench/out/manifest.csv --ood ../shared/data/ood_dev

Steps, all in one run on the same cores:
1. a throwaway database and media folder; a teacher, a project with the model's classes, the model
   published with ``model_version_publish`` (so the server loads it exactly as in production);
2. gunicorn (``--workers`` sync workers, one ONNX thread each) serving it on loopback;
3. ``--rounds`` rounds, each measuring side by side on the picture the API is sent:
   - the bare pipeline in this process (Pillow decode + the shared preprocessing + ONNX Runtime +
     the class-activation map), 200 times (p50/p95), and the same with the anomaly score added
     (its second network), to separate that cost from the web framework's;
   - the request's layers in this process: the analysis service alone, then Django's WSGI app
     called directly (no server), 200 times each;
   - ``wrk`` posting the multipart image with one client (latency);
   - the bare pipelines in as many processes as the server has workers (throughput), then
     ``wrk`` with ``--clients`` clients (throughput, errors);
   each figure is the median over the rounds, so a slow spell of the machine in one measurement
   does not decide a ratio (the per-round ratios are reported too);
4. held-out cat/dog pictures and out-of-distribution photos through the API: AUROC of the
   anomaly score.
The table goes to ``--out`` (Markdown) and the raw figures to stdout as JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=%(boundary)s"
wrk.headers["Authorization"] = "Token %(token)s"
local f = io.open("%(body)s", "rb")
wrk.body = f:read("*all")
f:close()
done = function(summary, latency, requests)
  -- errors.status counts HTTP statuses above 399; the others are socket errors and timeouts.
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%.3f, "p50_ms": %%.3f, "p95_ms": %%.3f, "p99_ms": %%.3f, ' ..
    '"socket_errors": %%d, "http_errors": %%d}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def holdout_images(manifest: Path, limit: int | None) -> list[Path]:
    """Return up to ``limit`` holdout pictures of the manifest, classes interleaved."""
    rows = list(csv.DictReader(manifest.open()))
    held = [r for r in rows if r.get("split") == "holdout"]
    by_class: dict = {}
    for row in held:
        by_class.setdefault(row["label"], []).append(Path(row["path"]))
    out = []
    for group in zip(*by_class.values(), strict=False):  # as many of each class
        out.extend(group)
    return out if limit is None else out[:limit]


def bare_once(predictor, raw: bytes, anomaly: bool = False) -> None:
    """The bare pipeline for one picture: decode + preprocess + network + CAM (+ the anomaly score)."""
    pixels = predictor.load(raw)
    names = ("probabilities", "feature_maps", "embedding") + (("early_features",) if anomaly else ())
    out = predictor.run(pixels[None], outputs=names)
    predictor.cam(out["feature_maps"][0], int(np.argmax(out["probabilities"][0])))
    if anomaly:
        predictor.anomaly(pixels, out["embedding"], out)


def _bare_worker(folder: str, variant: str, raw: bytes, anomaly: bool, seconds: float, queue) -> None:
    from ml.inference import Predictor

    predictor = Predictor(folder, variant=variant, intra_op_threads=1, inter_op_threads=1)
    bare_once(predictor, raw, anomaly)
    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        bare_once(predictor, raw, anomaly)
        count += 1
    queue.put(count)


def bare_latency(predictor, raw: bytes, anomaly: bool = False, repeats: int = 200) -> dict:
    """Time the bare pipeline one call at a time in this process: p50 and p95 in milliseconds."""
    return timed_p50(lambda: bare_once(predictor, raw, anomaly), repeats)


def timed_p50(call, repeats: int = 200) -> dict:
    """Time ``call()`` one at a time in this process after a warm-up: p50 and p95 in milliseconds."""
    from ml.timing import time_calls

    times = time_calls(lambda _: call(), repeats, warmup=5)
    return {"p50_ms": times["p50"], "p95_ms": times["p95"]}


def in_process_calls(token: str, slug: str, sample: Path, body: bytes, boundary: str) -> dict:
    """Return the request's layers as calls in this process: the analysis service, then Django's WSGI app.

    Timed beside the bare pipeline, they show what each layer adds before HTTP and gunicorn.
    """
    import io

    from django.core.wsgi import get_wsgi_application

    from apps.accounts.models import User
    from apps.inference.selectors import analysis_project_get
    from apps.inference.services import analyze_upload

    user = User.objects.get(auth_token__key=token)
    target = analysis_project_get(user=user, slug=slug)
    raw = sample.read_bytes()
    app = get_wsgi_application()

    def service():
        analyze_upload(target=target, raw=raw, name=sample.name)

    def wsgi():
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/analyze/", "SERVER_NAME": "127.0.0.1",
                   "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1",
                   "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
                   "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
                   "HTTP_AUTHORIZATION": f"Token {token}"}
        statuses = []
        response = app(environ, lambda status, headers: statuses.append(status))
        b"".join(response)
        response.close()
        assert statuses[0].startswith("200"), statuses

    return {"service": service, "wsgi": wsgi}


def bare_throughput(folder: Path, variant: str, raw: bytes, workers: int, seconds: float, anomaly: bool = False) -> float:
    """Calls per second of the bare pipeline looping in ``workers`` processes at once."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    procs = [context.Process(target=_bare_worker, args=(str(folder), variant, raw, anomaly, seconds, queue))
             for _ in range(workers)]
    for p in procs:
        p.start()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def median_of(rows: list[dict]) -> dict:
    """The median of each figure over the rounds."""
    return {key: float(np.median([row[key] for row in rows])) for key in rows[0] if isinstance(rows[0][key], (int, float))}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(path: Path, project: str, boundary: str) -> bytes:
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"project\"\r\n\r\n{project}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()


def post(url: str, token: str, body: bytes, boundary: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wrk(url: str, script: Path, clients: int, seconds: int) -> dict:
    threads = max(1, min(clients, 2))
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "--timeout", "30s",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    result["throughput_rps"] = result["requests"] / result["seconds"]
    result["errors"] = result["socket_errors"] + result["http_errors"]
    return result


def auroc(inliers: list[float], outliers: list[float]) -> float:
    """Probability that a random out-of-distribution picture scores higher than a random in-distribution one."""
    a, b = np.asarray(inliers)[:, None], np.asarray(outliers)[None, :]
    return float(((b > a).sum() + 0.5 * (b == a).sum()) / (a.size * b.size))


def setup_site(work: Path, model: Path) -> tuple[dict, str, str]:
    """Create the database, users and project, publish the model; return (env, token, project slug)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "riim_site.settings.local",
        "DEBUG": "0",
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "MEDIA_ROOT": str(work / "media"),
        "RIIM_INFERENCE_THREADS": "1",
        # A load test, not a classroom: one user sends every request, so the per-user rate is off.
        "RIIM_THROTTLE_ANALYSIS": "",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from rest_framework.authtoken.models import Token

    from apps.accounts import roles
    from apps.accounts.models import User
    from apps.projects.models import Membership, Project
    from apps.training.services import model_version_publish
    from ml.card import read_card

    classes = read_card(model)["classes"]
    teacher = User.objects.create_user("bench", password=uuid.uuid4().hex)
    roles.role_assign(teacher, roles.TEACHER)
    project = Project.objects.create(name="Bench", slug="bench", classes=classes, owner=teacher)
    Membership.objects.get_or_create(project=project, user=teacher, defaults={"role": "teacher"})
    model_version_publish(project=project, local_dir=model, user=teacher)
    token = Token.objects.create(user=teacher).key
    return env, token, project.slug


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a trained model folder (card.json, model.onnx, …)")
    parser.add_argument("--manifest", type=Path, default=ROOT / "bench" / "out" / "manifest.csv")
    parser.add_argument("--ood", type=Path, default=ROOT.parent / "shared" / "data" / "ood_dev")
    parser.add_argument("--variant", default="fp32", choices=("fp32", "int8"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers (default: one per core)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=10, help="length of each throughput and wrk measurement")
    parser.add_argument("--rounds", type=int, default=3, help="side-by-side rounds; figures are their medians")
    parser.add_argument("--auroc-images", type=int, default=None,
                        help="held-out in-distribution pictures for the AUROC (default: every held-out picture)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "api_bench.md")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="riim-api-bench-"))
    os.environ["RIIM_INFERENCE_VARIANT"] = args.variant
    env, token, slug = setup_site(work, args.model)
    held = holdout_images(args.manifest, args.auroc_images)
    sample = held[0]
    raw = sample.read_bytes()
    from ml.card import read_card
    from ml.inference import Predictor

    predictor = Predictor(args.model, variant=args.variant, intra_op_threads=1, inter_op_threads=1)

    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "riim_site.wsgi", "-w", str(args.workers), "--threads", "1",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--preload"],
        cwd=ROOT, env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/analyze/"
        boundary = uuid.uuid4().hex
        deadline = time.time() + 60
        while True:
            try:
                status, first = post(url, token, multipart(sample, slug, boundary), boundary)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        assert status == 200, first
        # Warm every worker's predictor before timing.
        for _ in range(4 * args.workers):
            post(url, token, multipart(sample, slug, boundary), boundary)
        body = work / "body.bin"
        body.write_bytes(multipart(sample, slug, boundary))
        script = work / "post.lua"
        script.write_text(WRK_SCRIPT % {"boundary": boundary, "token": token, "body": body})
        layers = in_process_calls(token, slug, sample, body.read_bytes(), boundary)
        rounds = []
        for _ in range(args.rounds):
            # The same with the anomaly score, whose second opinion is a second network: what is
            # left between that row and the API is the web framework and the cheap extras.
            row = {"bare": bare_latency(predictor, raw), "bare_anomaly": bare_latency(predictor, raw, anomaly=True),
                   "service": timed_p50(layers["service"]), "wsgi": timed_p50(layers["wsgi"]),
                   "api_1_client": wrk(url, script, 1, args.seconds)}
            row["bare"]["throughput_rps"] = bare_throughput(args.model, args.variant, raw, args.workers, args.seconds)
            row["bare_anomaly"]["throughput_rps"] = bare_throughput(args.model, args.variant, raw, args.workers,
                                                                    args.seconds, anomaly=True)
            row["api_n_clients"] = wrk(url, script, args.clients, args.seconds)
            row["p50_ratio"] = row["api_1_client"]["p50_ms"] / row["bare"]["p50_ms"]
            row["throughput_ratio"] = row["api_n_clients"]["throughput_rps"] / row["bare"]["throughput_rps"]
            rounds.append(row)
        bare, bare_anomaly = median_of([r["bare"] for r in rounds]), median_of([r["bare_anomaly"] for r in rounds])
        service, wsgi_app = median_of([r["service"] for r in rounds]), median_of([r["wsgi"] for r in rounds])
        one, many = median_of([r["api_1_client"] for r in rounds]), median_of([r["api_n_clients"] for r in rounds])
        many["errors"] = sum(r["api_n_clients"]["errors"] for r in rounds)
        one["errors"] = sum(r["api_1_client"]["errors"] for r in rounds)

        scores_in, scores_out, refused = [], [], 0
        for path in held:
            status, data = post(url, token, multipart(path, slug, boundary), boundary)
            if status == 200:
                scores_in.append(data["anomaly"]["score"])
        for path in sorted(p for p in args.ood.iterdir() if p.is_file()):
            status, data = post(url, token, multipart(path, slug, boundary), boundary)
            if status == 200:
                scores_out.append(data["anomaly"]["score"])
            else:
                refused += 1
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    from PIL import Image

    sample_px = Image.open(sample).size
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "model": str(args.model), "variant": args.variant, "image_size": read_card(args.model)["input"]["size"],
        "sample": f"{sample.name} ({sample_px[0]}x{sample_px[1]})", "workers": args.workers, "clients": args.clients,
        "seconds": args.seconds, "rounds": len(rounds), "bare": bare, "bare_anomaly": bare_anomaly, "service": service, "wsgi": wsgi_app, "api_1_client": one,
        "api_n_clients": many,
        "round_p50_ratios": [r["p50_ratio"] for r in rounds], "round_throughput_ratios": [r["throughput_ratio"] for r in rounds],
        "p50_ratio": one["p50_ms"] / bare["p50_ms"], "throughput_ratio": many["throughput_rps"] / bare["throughput_rps"],
        "p50_ratio_anomaly": one["p50_ms"] / bare_anomaly["p50_ms"],
        "throughput_ratio_anomaly": many["throughput_rps"] / bare_anomaly["throughput_rps"],
        "auroc": auroc(scores_in, scores_out), "auroc_in": len(scores_in), "auroc_out": len(scores_out), "auroc_refused": refused,
    }
    print(json.dumps(result, indent=2))
    write_report(result, args.out)
    return 0


def write_report(r: dict, out: Path) -> None:
    bare, bare_anomaly, one, many = r["bare"], r["bare_anomaly"], r["api_1_client"], r["api_n_clients"]
    lines = [
        "# API benchmark: `POST /api/v1/analyze/`",
        "",
        f"Produced by `bench/api_bench.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; one run, ratios from that run.",
        f"Machine: {r['machine']}. Model: `{Path(r['model']).name}` ({r['variant']}, input {r['image_size']}). "
        f"Server: gunicorn, {r['workers']} sync workers, one ONNX Runtime thread each, loopback, `wrk`. "
        f"Request: multipart upload of {r['sample']}. 1-minute load average before/after the run: "
        f"{r['load_average'][0]} / {r['load_average'][1]} (other jobs shared the cores). "
        f"Each figure is the median of {r['rounds']} rounds measured side by side ({r['seconds']} s per throughput "
        "and `wrk` measurement); errors are summed over the rounds.",
        "",
        "| | p50 (ms) | p95 (ms) | throughput (req/s) | errors |",
        "|---|---:|---:|---:|---:|",
        f"| bare pipeline (decode + preprocess + ONNX Runtime + CAM), 1 at a time / {r['workers']} processes | {bare['p50_ms']:.1f} | {bare['p95_ms']:.1f} | {bare['throughput_rps']:.1f} | — |",
        f"| bare pipeline + anomaly score (its second network and distances), same | {bare_anomaly['p50_ms']:.1f} | {bare_anomaly['p95_ms']:.1f} | {bare_anomaly['throughput_rps']:.1f} | — |",
        f"| in this process: the analysis service (upload checks, analysis, anomaly, tags, heatmap PNG) | {r['service']['p50_ms']:.1f} | {r['service']['p95_ms']:.1f} | — | — |",
        f"| in this process: Django's WSGI app (+ multipart, token, project lookup, DRF, JSON) | {r['wsgi']['p50_ms']:.1f} | {r['wsgi']['p95_ms']:.1f} | — | — |",
        f"| API, 1 client | {one['p50_ms']:.1f} | {one['p95_ms']:.1f} | {one['throughput_rps']:.1f} | {one['errors']} |",
        f"| API, {r['clients']} clients | {many['p50_ms']:.1f} | {many['p95_ms']:.1f} | {many['throughput_rps']:.1f} | {many['errors']} |",
        "",
        f"- p50 API (1 client) / bare p50: **{r['p50_ratio']:.2f}×** (target ≤ 2×); per round: "
        + ", ".join(f"{v:.2f}×" for v in r["round_p50_ratios"]) + ".",
        f"- Throughput API ({r['clients']} clients) / bare ({r['workers']} processes): **{100 * r['throughput_ratio']:.0f} %** "
        "(target ≥ 60 %); per round: " + ", ".join(f"{100 * v:.0f} %" for v in r["round_throughput_ratios"]) + ".",
        f"- Against the bare pipeline with the anomaly score: p50 **{r['p50_ratio_anomaly']:.2f}×**, throughput "
        f"**{100 * r['throughput_ratio_anomaly']:.0f} %** (what the web framework and the cheap extras cost).",
        f"- Anomaly AUROC through the API, {r['auroc_in']} held-out cat/dog pictures vs {r['auroc_out']} `ood_dev` photos: "
        f"**{r['auroc']:.3f}** (target ≥ 0.98; {r['auroc_refused']} files refused as uploads would be).",
        "",
        "The two in-process rows split the API's time by layer: the analysis service alone, then Django's WSGI app",
        "around it (called directly, no server); the API rows add gunicorn and TCP. In a worker the layers run one",
        "after the other on the same core, so each starts with caches the others filled.",
        "",
        "The API does more than the bare pipeline: HTTP and multipart parsing, token authentication, the project,",
        "role and active-version lookups, the upload checks (same rules as uploads), the anomaly score (the",
        "pretrained reference layers continuing from the served network's early features, plus two Mahalanobis",
        "distances), the tags computed from pixels, the heatmap encoded as a palette PNG in base64, and the JSON",
        "response. In the throughput run `wrk` itself shares the two cores with the server.",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
