"""The caller's mistakes are reported as the caller's, on every surface: image types, regions,
prompts and unknown scorer options; and the notes (RANDOM-INIT included) reach the API result."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pgpcodec.errors import InputError, PluginError, SettingError, UsageError
from pgpcodec.interfaces import Codec, EncodedImage
from pgpcodec.pipeline import Pipeline
from pgpcodec.regions import parse_box, parse_regions
from pgpcodec.testing.plugin import invoke_cli

IMAGE = np.full((24, 32, 3), 120, dtype=np.uint8)


@pytest.fixture(scope="module")
def regions_pipeline():
    return Pipeline(scorer="regions", codec="jpeg", prompt_processor="none")


@pytest.mark.parametrize("image", [memoryview(b"\x89PNG"), [[1, 2, 3]], 42])
def test_wrong_image_types_raise_type_error_naming_the_accepted_ones(regions_pipeline, image):
    with pytest.raises(TypeError, match="numpy uint8 array or a PIL image, got"):
        regions_pipeline.encode(image, regions=[(0, 0, 4, 4)])


@pytest.mark.parametrize(
    "regions",
    [[(float("nan"), 0, 5, 5)], [(float("inf"), 0, 5, 5)], [(None, 0, 5, 5)], [(0, 0, 5)], [("a", 0, 5, 5)], [(True, 0, 5, 5)]],
)
def test_bad_regions_are_the_callers_error_not_a_plugin_failure(regions_pipeline, regions):
    with pytest.raises(SettingError) as info:
        regions_pipeline.encode(IMAGE, regions=regions)
    assert not isinstance(info.value, PluginError) and info.value.setting == "regions"


def test_good_regions_in_any_sequence_form(regions_pipeline):
    for regions in ([(0, 0, 8, 8)], [[0, 0, 8, 8]], np.array([[0, 0, 8, 8]]), [(0.0, 0.9, 8.5, 8)], "0,0,8,8", "[[0,0,8,8]]"):
        assert regions_pipeline.encode(IMAGE, regions=regions).data


@pytest.mark.parametrize(
    "text,expected",
    [("10,20,30,40", ((10, 20, 30, 40),)), ("1,2,3,4; 5,6,7,8", ((1, 2, 3, 4), (5, 6, 7, 8))),
     ("[[1.9, 2, 3, 4]]", ((1, 2, 3, 4),)), ("[1, 2, 3, 4]", ((1, 2, 3, 4),)), ("", ()), ("[]", ())],
)
def test_region_parser_on_good_text(text, expected):
    assert parse_regions(text) == expected


@pytest.mark.parametrize(
    "text,problem",
    [("inf,0,10,10", "not a finite number"), ("[[1e999,0,10,10]]", "not a finite number"), ("[[0,0,10]]", "not four numbers"),
     ("[" * 100_000 + "]" * 100_000, "nested too deeply"), ("[[0,0,1,1]", "not valid JSON"), ('{"a": 1}', "not four numbers"),
     ("[[null,0,1,1]]", "not a finite number"), ('[["1",0,1,1]]', "not a finite number"), ("1,2,3,x", "not a finite number")],
)
def test_region_parser_refuses_with_a_structured_error(text, problem):
    with pytest.raises(SettingError, match=problem) as info:
        parse_regions(text)
    assert info.value.setting == "regions" and info.value.exit_code == 2


def test_region_count_limit_is_checked_before_any_box_is_parsed():
    with pytest.raises(SettingError, match="has 6,000 regions, over the limit of 100"):
        parse_regions(";".join(["x"] * 6000), limit=100)  # not one of them is a box
    with pytest.raises(SettingError, match="over the limit"):
        parse_regions(json.dumps([[0, 0, 1, 1]] * 101), limit=100)
    assert len(parse_regions([[0, 0, 1, 1]] * 100, limit=100)) == 100


def test_parse_box_truncates_fractions_toward_zero():
    assert parse_box(" 1.9, 2 ,3.2,4 ") == (1, 2, 3, 4)


@pytest.mark.parametrize("prompt", ["what \ud800 is this", "\udcff", b"\xff\xfe what", b"caf\xe9"])
def test_bad_prompt_text_is_the_callers_error(prompt):
    pipeline = Pipeline(scorer="uniform", codec="jpeg", prompt_processor="nltk")
    with pytest.raises(InputError, match="not valid (Unicode|UTF-8)") as info:
        pipeline.encode(IMAGE, prompt)
    assert not isinstance(info.value, PluginError)


def test_a_utf8_bytes_prompt_is_text():
    pipeline = Pipeline(scorer="uniform", codec="jpeg", prompt_processor="none")
    assert pipeline.prefilter(IMAGE, "café".encode()).prompt_used == "café"


def test_cli_regions_inf_is_one_line_exit_2(tmp_path, capsys):
    source = tmp_path / "a.png"
    Image.fromarray(IMAGE).save(source)
    code, out, err = invoke_cli(["encode", source, "--scorer", "regions", "--prompt-processor", "none", "--regions", "inf,0,10,10"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--regions 'inf,0,10,10'" in err and "internal" not in err


class RandomCodec(Codec):
    name = "randomcodec"
    extension = ".rnd"
    random_weights = True

    def _encode(self, image, quality):
        return b"x" * 10

    def decode(self, data):
        return np.zeros((1, 1, 3), np.uint8)


def test_random_init_notes_reach_the_api_result():
    pipeline = Pipeline(scorer="regions", codec=RandomCodec(), prompt_processor="none")
    encoded = pipeline.encode(IMAGE, regions=[(0, 0, 4, 4)])
    assert any("codec randomcodec has RANDOM-INIT weights" in note for note in encoded.notes)
    assert encoded.to_dict()["notes"] == list(encoded.notes)
    plain = pipeline.encode(IMAGE, prefilter=False)
    assert any("RANDOM-INIT" in note for note in plain.notes)


def test_scorer_notes_and_load_notes_reach_the_api_result(tmp_path):
    from pgpcodec_scorers.basic import RegionsScorer

    class RandomRegions(RegionsScorer):
        name = "fake"
        random_weights = True

    rgba = tmp_path / "a.png"
    Image.new("RGBA", (8, 8), (10, 20, 30, 0)).save(rgba)
    encoded = Pipeline(scorer=RandomRegions(), codec="jpeg", prompt_processor="none").encode(str(rgba), regions=[(0, 0, 4, 4)])
    assert any("scorer fake has RANDOM-INIT weights" in note for note in encoded.notes)
    assert any("alpha" in note for note in encoded.notes)


def test_encoded_image_notes_default_and_are_a_tuple():
    image = EncodedImage(b"x", "c", 1, 1, 1, ".x", "x/x")
    assert image.notes == () and image.to_dict()["notes"] == []
    assert EncodedImage(b"x", "c", 1, 1, 1, ".x", "x/x", notes=["a"]).notes == ("a",)


@pytest.mark.parametrize("scorer,valid", [("regions", "margin, ramp"), ("uniform", "overlap, target_tiles, tiling")])
def test_unknown_scorer_option_lists_the_valid_ones(scorer, valid):
    with pytest.raises(UsageError, match=f"scorer '{scorer}' has no option marg \\(its options: {valid}\\)") as info:
        Pipeline(scorer=scorer, codec="jpeg", prompt_processor="none", scorer_options={"marg": 1})
    assert not isinstance(info.value, PluginError)


def test_unknown_option_of_a_bound_tinyclip_scorer_lists_the_valid_ones():
    from pgpcodec.plugins import get_registry

    with pytest.raises(UsageError, match="scorer 'tinyclip23' has no option colour .*precision.*threads"):
        get_registry().create("scorer", "tinyclip23", colour=1)


def test_cli_unknown_scorer_option_lists_the_valid_ones(tmp_path, capsys):
    source = tmp_path / "a.png"
    Image.fromarray(IMAGE).save(source)
    code, out, err = invoke_cli(
        ["encode", source, "--scorer", "regions", "--prompt-processor", "none", "--regions", "0,0,4,4", "--scorer-option", "ramps=3"],
        capsys,
    )
    assert code == 2 and "scorer 'regions' has no option ramps (its options: margin, ramp)" in err
