import json
import re
import subprocess
from pathlib import Path

import pytest
from bench_helpers import run_cli

import pgpcodec
from pgpcodec.bench.dataset import load_dataset
from pgpcodec.bench.runner import Bench, BenchConfig, default_qualities, parse_qualities
from pgpcodec.errors import UsageError
from pgpcodec.plugins import get_registry

VARIANTS = "plain,prefilter,gaussian:1,downsample:2"


def _source_commit():
    """The commit of the tree pgpcodec runs from (None outside a git checkout), found without pgpcodec."""
    folder = Path(pgpcodec.__file__).resolve().parent
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True)
    if head.returncode != 0:
        return None  # not a git checkout: nothing to record
    assert re.fullmatch(r"[0-9a-f]{40}", head.stdout.strip()), head.stdout
    return head.stdout.strip()


def read_rows(out):
    return [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]


def test_bench_writes_rows_summary_table_and_plots(tiny_manifest, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        capsys, "--dataset", str(tiny_manifest), "--codecs", "jpeg,webp", "--qualities", "jpeg=30,70",
        "--qualities", "webp=40,80", "--variants", VARIANTS, "--out", str(out),
    )
    assert code == 0, err
    assert "BD-rate vs plain codec at equal ROI-PSNR" in stdout and "prefilter" in stdout
    rows = read_rows(out)
    assert len(rows) == 3 * 2 * 2 * 4  # rows × codecs × qualities × variants
    summary = json.loads((out / "results.json").read_text())
    assert summary["pgpcodec_version"]
    commit = _source_commit()
    if commit is None:
        assert summary["git"] is None
    else:  # "dirty" is not compared: tests running beside this one may write files meanwhile
        assert summary["git"]["commit"] == commit and isinstance(summary["git"]["dirty"], bool), summary["git"]
    assert summary["settings"]["qualities"] == {"jpeg": [30.0, 70.0], "webp": [40.0, 80.0]}
    assert set(summary["bd_rate"]) == {"prefilter", "gaussian:1", "downsample:2"}
    assert set(summary["bd_rate"]["prefilter"]) == {"jpeg", "webp"}
    assert (out / "plots" / "jpeg.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "plots" / "webp.png").exists()
    table = (out / "bdrate.md").read_text()
    assert "| variant | jpeg | jpeg context | webp | webp context |" in table
    assert "| plain (plain codec) | anchor | " in table
    assert summary["context_psnr"]["long_side"] == 448
    assert summary["context_psnr"]["mean_db"]["prefilter"]["jpeg"] < summary["context_psnr"]["mean_db"]["plain"]["jpeg"]
    assert "context" in stdout
    # the prefilter spends fewer bits than the plain codec at the same quality and keeps the regions
    by_key = {(r["variant"], r["codec"], r["quality"], r["row"]): r for r in rows}
    for row in {r["row"] for r in rows}:
        plain, pre = by_key[("plain", "jpeg", 70.0, row)], by_key[("prefilter", "jpeg", 70.0, row)]
        assert pre["bytes"] < plain["bytes"]
        assert pre["outside_psnr"] < plain["outside_psnr"]
        assert pre["context_psnr"] < plain["context_psnr"]
        assert pre["roi_psnr"] == pytest.approx(plain["roi_psnr"], abs=1.5)
    # downsampling counts bits per original pixel
    down = by_key[("downsample:2", "jpeg", 70.0, rows[0]["row"])]
    assert down["bpp"] == pytest.approx(8 * down["bytes"] / (128 * 96))
    # rows sharing a photo share the plain encode
    a_rows = [r for r in rows if r["variant"] == "plain" and r["codec"] == "jpeg" and r["quality"] == 30.0][:2]
    assert a_rows[0]["bytes"] == a_rows[1]["bytes"]


def test_an_interrupted_run_resumes_and_a_finished_one_is_reused(tiny_manifest, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--dataset", str(tiny_manifest), "--codecs", "jpeg", "--qualities", "30,70", "--variants", "plain,prefilter", "--out", str(out)]
    assert run_cli(capsys, *args)[0] == 0
    lines = (out / "rows.jsonl").read_text().splitlines()
    assert len(lines) == 12
    # a crash mid-write: five lines kept, the sixth cut short
    (out / "rows.jsonl").write_text("\n".join(lines[:5]) + "\n" + lines[5][:20])
    code, stdout, _ = run_cli(capsys, *args)
    assert code == 0 and "7 rows computed, 5 reused" in stdout
    code, stdout, _ = run_cli(capsys, *args)
    assert "0 rows computed, 12 reused" in stdout
    # extending the run with a quality computes only the new rows
    code, stdout, _ = run_cli(capsys, *[a if a != "30,70" else "30,50,70" for a in args])
    assert "6 rows computed, 12 reused" in stdout


def test_other_settings_never_overwrite_existing_results(tiny_manifest, tmp_path, capsys):
    out = tmp_path / "out"
    base = ["--dataset", str(tiny_manifest), "--codecs", "jpeg", "--qualities", "50,70", "--variants", "plain", "--out", str(out)]
    assert run_cli(capsys, *base)[0] == 0
    before = (out / "rows.jsonl").read_text()
    code, _, err = run_cli(capsys, *base, "--sigma-max", "4")
    assert code == 2 and "holds results of a run with other settings" in err
    assert (out / "rows.jsonl").read_text() == before


def test_bad_manifest_rows_and_options_fail_before_running(tiny_manifest, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(tiny_manifest.read_text() + json.dumps({"image": "img/a.png", "prompt": "x", "regions": [[0, 0, 500, 10]]}) + "\n")
    code, _, err = run_cli(capsys, "--dataset", str(bad), "--codecs", "jpeg", "--out", str(tmp_path / "o"))
    assert code == 1 and "row 4" in err and "outside the 128x96 image" in err
    assert not (tmp_path / "o").exists()
    code, _, err = run_cli(capsys, "--dataset", str(tiny_manifest), "--codecs", "jpeg,nope")
    assert code == 2 and "unknown codec 'nope'" in err
    code, _, err = run_cli(capsys, "--dataset", str(tiny_manifest), "--model", "m")
    assert code == 2 and "--model only apply to --evaluator openai" in err
    code, _, err = run_cli(capsys, "--dataset", str(tiny_manifest), "--codecs", "jpeg", "--qualities", "jpeg=0")
    assert code == 2 and "is out of range for codec 'jpeg'" in err


def test_rows_without_regions_are_refused_by_roi_and_fail_the_regions_scorer_by_row(tmp_path):
    import types

    from bench_helpers import write_manifest
    from PIL import Image

    from pgpcodec import hookimpl
    from pgpcodec.bench.evaluators import Evaluator
    from pgpcodec.plugins import PluginRegistry
    from pgpcodec.testing.samples import sample_image

    Image.fromarray(sample_image(64, 48, 5)).save(tmp_path / "p.png")
    Image.fromarray(sample_image(64, 48, 6)).save(tmp_path / "q.png")
    manifest = write_manifest(tmp_path / "m.jsonl", [{"image": "p.png", "prompt": "What?", "regions": [[0, 0, 8, 8]]}, {"image": "q.png", "prompt": "Where?"}])
    config = BenchConfig(load_dataset(manifest), ["jpeg"], ["plain", "prefilter"], qualities={"jpeg": [50]})
    # the roi evaluator says it needs regions, before any work
    with pytest.raises(UsageError, match="row 2 .*has no regions, which the roi evaluator needs"):
        Bench(config, tmp_path / "out", get_registry()).run()
    assert not (tmp_path / "out").exists()

    class Brightness(Evaluator):
        name = "brightness"

        def evaluate(self, sample):
            return {"score": float(sample.decoded.mean())}

    plugin = types.ModuleType("brightness_plugin")
    plugin.register_evaluators = hookimpl(lambda register: register("brightness", Brightness))
    registry = PluginRegistry(modules=[plugin])
    config = BenchConfig(load_dataset(manifest), ["jpeg"], ["plain", "prefilter"], qualities={"jpeg": [50]}, evaluator="brightness")
    result = Bench(config, tmp_path / "out", registry).run()
    # the regions scorer fails row 2 (no regions) by row; the rest of the run goes on and is kept
    assert [(f.row, f.variant) for f in result.failures] == [("2:q", "prefilter")]
    assert "row 2 (2:q)" in result.failures[0].message and "needs at least one region" in result.failures[0].message
    assert sorted((r["row"], r["variant"]) for r in read_rows(tmp_path / "out")) == [("1:p", "plain"), ("1:p", "prefilter"), ("2:q", "plain")]
    summary = json.loads((tmp_path / "out" / "results.json").read_text())
    assert summary["failures"][0]["variant"] == "prefilter" and summary["failures"][0]["row"] == "2:q"


def test_quality_lists():
    registry = get_registry()
    assert default_qualities(registry.create("codec", "jpeg")) == [20, 35, 50, 75]
    assert default_qualities(registry.create("codec", "avif")) == [20, 40, 60, 80]
    assert parse_qualities(["jpeg=10,20;webp=30", "heic=5"], ["jpeg", "webp", "heic"]) == {"jpeg": [10, 20], "webp": [30], "heic": [5]}
    assert parse_qualities(["40,60"], ["jpeg", "webp"]) == {"jpeg": [40, 60], "webp": [40, 60]}
    with pytest.raises(UsageError):
        parse_qualities(["avif=10"], ["jpeg"])
    with pytest.raises(UsageError):
        parse_qualities(["jpeg=x"], ["jpeg"])


def test_paper_ablations_with_a_tile_scorer(tiny_manifest, tmp_path, capsys, monkeypatch):
    """tinyclip57 here is the random-init test model: the ablations run, and the figures say so."""
    from pgpcodec_scorers.tinyclip.testing import build_tiny_clip

    monkeypatch.setenv("PGPCODEC_MODELS_DIR", str(tmp_path / "models"))
    build_tiny_clip(tmp_path / "models" / "tinyclip57", name="tinyclip57", int8=False)
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        capsys, "--dataset", str(tiny_manifest), "--codecs", "jpeg", "--qualities", "40,70", "--scorer", "tinyclip57",
        "--variants", "plain,prefilter,no-overlap,no-prompt-prep@reference,scorer:tinyclip23", "--out", str(out),
    )
    assert code == 0, err
    assert "skipped scorer:tinyclip23: scorer 'tinyclip23' is not installed" in " ".join(stdout.split())
    summary = json.loads((out / "results.json").read_text())
    variants = {v["name"]: v for v in summary["settings"]["variants"]}
    assert variants["no-overlap"]["settings"]["scorer_options"] == {"overlap": False}
    assert variants["no-prompt-prep@reference"]["settings"]["prompt_processor"] == "none"
    assert variants["prefilter"]["settings"]["prompt_processor"] == "nltk"
    assert all("RANDOM-INIT" in variants[n]["description"] for n in ("prefilter", "no-overlap", "no-prompt-prep@reference"))
    assert "RANDOM-INIT" in " ".join(stdout.split())
    assert len(read_rows(out)) == 3 * 2 * 4


def test_a_third_party_evaluator_plugs_in(tiny_manifest, tmp_path):
    import types

    from pgpcodec import hookimpl
    from pgpcodec.bench.evaluators import Evaluator
    from pgpcodec.plugins import PluginRegistry

    class DarknessEvaluator(Evaluator):
        name = "darkness"
        metric = "mean darkness"

        def evaluate(self, sample):
            return {"score": 255.0 - float(sample.decoded.mean()), "pixels": int(sample.decoded.size)}

    plugin = types.ModuleType("darkness_plugin")
    plugin.register_evaluators = hookimpl(lambda register: register("darkness", DarknessEvaluator))
    config = BenchConfig(load_dataset(tiny_manifest), ["jpeg"], ["plain"], qualities={"jpeg": [30, 60]}, evaluator="darkness")
    result = Bench(config, tmp_path / "out", PluginRegistry(modules=[plugin])).run()
    assert result.metric == "mean darkness"
    rows = read_rows(tmp_path / "out")
    assert len(rows) == 6 and all(0 < r["score"] < 255 and r["pixels"] in (128 * 96 * 3, 112 * 80 * 3) for r in rows)


def test_the_context_size_reaches_every_rows_metric(tiny_manifest, tmp_path, capsys):
    """--context-size is the long side the context PSNR is measured at: a coarser view scores the same blur higher."""
    context = {}
    for size in (448, 16):
        out = tmp_path / f"ctx{size}"
        code, _, err = run_cli(capsys, "--dataset", str(tiny_manifest), "--codecs", "jpeg", "--qualities", "jpeg=50",
                               "--variants", "plain,prefilter", "--context-size", str(size), "--out", str(out))
        assert code == 0, err
        assert json.loads((out / "results.json").read_text())["context_psnr"]["long_side"] == size
        context[size] = {(r["variant"], r["row"]): r["context_psnr"] for r in read_rows(out) if r["context_psnr"] is not None}
    assert context[448] and context[448].keys() == context[16].keys()
    prefiltered = [key for key in context[448] if key[0] == "prefilter"]
    assert prefiltered and all(context[16][key] > context[448][key] for key in prefiltered)


def test_a_failing_or_hanging_plugin_fails_its_rows_naming_it_and_the_run_goes_on(tiny_manifest, tmp_path):
    """The bench encodes through the registry's guarded codecs and prefilters with the same plugin timeout:
    the same timeout and error naming as the CLI."""
    import time
    import types

    from pgpcodec import hookimpl
    from pgpcodec.plugins import PluginRegistry
    from pgpcodec_codecs.pillow import JpegCodec
    from pgpcodec_scorers.basic import UniformScorer

    class Broken(JpegCodec):
        name = "brokenjpeg"

        def _encode(self, image, quality):
            raise RuntimeError("device gone")

    class Slow(JpegCodec):
        name = "slowjpeg"

        def _encode(self, image, quality):
            time.sleep(3)
            return super()._encode(image, quality)

    class SlowScorer(UniformScorer):
        name = "slowscorer"

        def score(self, image, prompt, *, regions=()):
            time.sleep(3)
            return super().score(image, prompt, regions=regions)

    plugin = types.ModuleType("shaky_codecs")
    plugin.register_codecs = hookimpl(lambda register: (register("brokenjpeg", Broken), register("slowjpeg", Slow)))
    plugin.register_scorers = hookimpl(lambda register: register("slowscorer", SlowScorer))
    registry = PluginRegistry(modules=[plugin])
    config = BenchConfig(load_dataset(tiny_manifest), ["jpeg", "brokenjpeg", "slowjpeg"], ["plain", "scorer:slowscorer"],
                         qualities={"jpeg": [50], "brokenjpeg": [50], "slowjpeg": [50]}, plugin_timeout=0.5)
    result = Bench(config, tmp_path / "out", registry).run()
    by_codec = {}
    for failure in result.failures:
        if failure.variant == "plain":
            by_codec.setdefault(failure.codec, []).append(failure.message)
    assert sorted(by_codec) == ["brokenjpeg", "slowjpeg"]
    slow_scorer = [f.message for f in result.failures if f.variant == "scorer:slowscorer"]
    assert slow_scorer and all("scorer 'slowscorer' (plugin 'shaky_codecs') did not finish within 0.5 s" in m for m in slow_scorer)
    assert all("codec 'brokenjpeg' (plugin 'shaky_codecs') failed: RuntimeError: device gone" in m for m in by_codec["brokenjpeg"])
    assert all("codec 'slowjpeg' (plugin 'shaky_codecs') did not finish within 0.5 s" in m for m in by_codec["slowjpeg"])
    assert {(r["codec"], r["variant"]) for r in read_rows(tmp_path / "out")} == {("jpeg", "plain")}  # the working codec's rows are all kept
    assert len(read_rows(tmp_path / "out")) == 3
