"""Progress reports of long operations (issue 16): the library calls back, the CLI draws bars on stderr."""

import json

import numpy as np
import pytest

from pgpcodec.interfaces import Codec
from pgpcodec.ratecontrol import fit_to_size, search_steps
from pgpcodec.testing.samples import sample_image


class SizedCodec(Codec):
    """Output of 10 × quality bytes: a monotone codec whose search is known."""

    name = "sized"
    quality_range = (1, 100)

    def _encode(self, image, quality):
        return b"x" * (10 * quality)

    def decode(self, data):
        return np.zeros((1, 1, 3), np.uint8)


def _check_reports(calls, task, total):
    assert calls and all(t == task and n == total for t, _, n in calls)
    done = [d for _, d, _ in calls]
    assert done == sorted(done) and done[-1] == total and all(0 <= d <= total for d in done)


def test_rate_search_reports_each_trial_encode():
    calls = []
    result = fit_to_size(SizedCodec(), sample_image(8, 8), 555, progress=lambda *c: calls.append(c))
    assert result.quality == 55
    _check_reports(calls, "rate search", search_steps(100))
    assert len(calls) <= search_steps(100) + 1
    assert search_steps(100) == 8 and search_steps(6) == 4 and search_steps(1) == 1


def test_rate_search_uses_the_codecs_callback_and_is_silent_without_one(capsys):
    codec = SizedCodec()
    fit_to_size(codec, sample_image(8, 8), 300)  # no callback: nothing happens, nothing printed
    calls = []
    codec.progress = lambda *c: calls.append(c)
    fit_to_size(codec, sample_image(8, 8), 300)
    _check_reports(calls, "rate search", search_steps(100))
    assert capsys.readouterr() == ("", "")


def test_cheng2020_reports_every_latent_position_in_encode_and_decode():
    pytest.importorskip("compressai")
    from pgpcodec_codecs.cheng2020 import Cheng2020Codec

    codec = Cheng2020Codec(pretrained=False)
    calls = []
    codec.progress = lambda *c: calls.append(c)
    encoded = codec.encode(sample_image(70, 40), 1)  # padded to 128x64: 8x4 latent positions
    _check_reports(calls, "cheng2020 encode", 32)
    assert len(calls) > 10  # reported as it goes, not only at the end
    calls.clear()
    codec.decode(encoded.data)
    _check_reports(calls, "cheng2020 decode", 32)


def test_bars_draw_one_task_per_name_and_drop_it_when_done():
    from pgpcodec.cli.progress import Bars

    class FakeProgress:
        def __init__(self):
            self.tasks, self.log = {}, []

        def add_task(self, description, total):
            self.tasks[len(self.log)] = description
            self.log.append(("add", description, total))
            return len(self.log) - 1

        def update(self, task, completed, total):
            self.log.append(("update", self.tasks[task], completed, total))

        def remove_task(self, task):
            self.log.append(("remove", self.tasks.pop(task)))

    fake = FakeProgress()
    bars = Bars(fake)
    bars("rate search", 1, 4)
    bars("cheng2020 encode", 5, 10)
    bars("rate search", 4, 4)
    assert fake.log == [("add", "rate search", 4), ("update", "rate search", 1, 4), ("add", "cheng2020 encode", 10),
                        ("update", "cheng2020 encode", 5, 10), ("update", "rate search", 4, 4), ("remove", "rate search")]


def test_cli_json_stays_clean_and_bars_appear_only_when_asked(tmp_path, run_cli):
    pytest.importorskip("compressai")
    from PIL import Image

    photo = tmp_path / "p.png"
    Image.fromarray(sample_image(64, 64)).save(photo)
    args = ["encode", photo, "--no-prefilter", "-c", "cheng2020", "--codec-option", "pretrained=false", "-q", "1", "--json"]
    code, out, err = run_cli(*args, "-o", tmp_path / "a.c2020")
    assert code == 0, err
    assert json.loads(out)["codec"] == "cheng2020"
    assert "cheng2020 encode" not in err and "ETA" not in err  # not a terminal, not asked
    code, out, err = run_cli(*args, "-o", tmp_path / "b.c2020", "--progress")
    assert code == 0, err
    assert json.loads(out)["codec"] == "cheng2020"  # stdout holds only the JSON
    assert "cheng2020 encode" in err and "ETA" in err
    code, out, err = run_cli("decode", tmp_path / "b.c2020", "-o", tmp_path / "b.png", "--progress")
    assert code == 0 and "cheng2020 decode" in err
