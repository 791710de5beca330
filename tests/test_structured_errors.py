"""Errors carry their context as fields (plugin, parameter, row, where), keep them through pickling
and bench rows, and nothing reads context back out of a message (issue 14)."""

from __future__ import annotations

import functools
import json
import pickle
from pathlib import Path

import pytest

from pgpcodec.errors import CodecError, InputError, ModelNotFoundError, PgpcodecError, PluginError, SettingError
from pgpcodec.guard import PluginRef, call_plugin


def _install(name: str) -> None:
    """A module-level stand-in for a plugin's download (a partial of it must pickle)."""


def test_add_context_sets_only_unset_fields_and_returns_the_error():
    error = InputError("bad", "fix it", parameter="prompt")
    assert error.add_context(parameter="regions", plugin="pgpcodec-x", row="q1") is error
    assert (error.parameter, error.plugin, error.row, error.hint) == ("prompt", "pgpcodec-x", "q1", "fix it")
    with pytest.raises(TypeError, match="no context field 'colour'"):
        error.add_context(colour="red")
    with pytest.raises(TypeError):
        error.add_context(message="rewritten")  # the message is not context


def test_locate_prefixes_the_message_once_and_keeps_the_problem():
    error = InputError("file is empty").locate("a.png")
    assert error.locate("b.png") is error
    assert (error.message, error.problem, error.where, str(error)) == ("a.png: file is empty", "file is empty", "a.png", "a.png: file is empty")


@pytest.mark.parametrize(
    "error",
    [
        ModelNotFoundError("model 'm' is not installed", "pull it", model_name="m", fetch=functools.partial(_install, "m"), row="q1"),
        SettingError("sigma_max", "must be small", "the paper uses 3 to 10", plugin="pgpcodec-x").locate("dev.jsonl, row 2 (q)"),
        CodecError("vvenc: encode failed", output="Error submitting video frame", parameter="codec_options.timeout"),
        PluginError("codec 'c' (plugin 'p') failed", "report it", plugin="p"),
    ],
)
def test_errors_survive_pickling_with_every_field(error):
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error) and back.args == error.args
    fields = {k: v for k, v in vars(error).items() if k != "fetch"}
    assert {k: v for k, v in vars(back).items() if k != "fetch"} == fields
    if isinstance(error, ModelNotFoundError):
        assert back.model_name == "m" and back.fetch.args == ("m",)


def test_to_dict_is_json_with_the_fields_that_are_set():
    error = ModelNotFoundError("missing", "pull it", model_name="m", fetch=functools.partial(_install, "m")).add_context(row="q1")
    fields = json.loads(json.dumps(error.to_dict()))
    assert fields["type"] == "ModelNotFoundError" and fields["message"] == "missing" and fields["hint"] == "pull it"
    assert fields["model_name"] == "m" and fields["row"] == "q1"
    assert "fetch" not in fields and "parameter" not in fields  # no callable, nothing unset


REF = PluginRef("codec", "c", "pgpcodec-p")


def _raise(error):
    raise error


def test_the_guard_decides_by_the_plugin_field_not_the_message():
    own = PluginError("already named", plugin="pgpcodec-p")
    with pytest.raises(PluginError) as kept:
        call_plugin(REF, _raise, own)
    assert kept.value is own  # this plugin's own error is not wrapped again
    # a message that happens to name the plugin does not make it named: the field does
    with pytest.raises(PluginError) as wrapped:
        call_plugin(REF, _raise, PluginError("plugin 'pgpcodec-p' said no", "ask", parameter="quality"))
    assert wrapped.value.message == "codec 'c' (plugin 'pgpcodec-p'): plugin 'pgpcodec-p' said no"
    assert (wrapped.value.plugin, wrapped.value.hint, wrapped.value.parameter) == ("pgpcodec-p", "ask", "quality")
    with pytest.raises(PluginError) as crashed:
        call_plugin(REF, _raise, RuntimeError("boom"))
    assert crashed.value.plugin == "pgpcodec-p"
    deliberate = InputError("bad bitstream")
    with pytest.raises(InputError) as passed:
        call_plugin(REF, _raise, deliberate)
    assert passed.value is deliberate and deliberate.plugin == "pgpcodec-p"


def test_a_bench_row_error_keeps_its_class_and_fields():
    from pgpcodec.bench.dataset import Row
    from pgpcodec.bench.runner import _at_row

    row = Row(id="q1", image=Path("a.png"), prompt="what?", line=3)
    error = ModelNotFoundError("model 'm' is not installed", "pull it", model_name="m")
    located = _at_row(error, row, Path("dev.jsonl"))
    assert located is error and located.model_name == "m" and located.row == "q1"
    assert located.message == "dev.jsonl, row 3 (q1): model 'm' is not installed" and located.problem == "model 'm' is not installed"


def test_the_cli_names_a_setting_by_its_flag_from_the_fields():
    from pgpcodec.cli import describe

    assert describe(SettingError("sigma_max", "must be small", "smaller")) == ("--sigma-max must be small", "smaller")
    assert describe(SettingError("truncate", "must be > 0")) == ("truncate must be > 0", None)  # no such flag
    located = SettingError("sigma_max", "must be small").locate("dev.jsonl, row 2 (q)")
    assert describe(located) == ("dev.jsonl, row 2 (q): sigma_max must be small", None)
    assert describe(InputError("x.png: already exists", "allow overwriting it", parameter="force")) == (
        "x.png: already exists", "allow overwriting it: --force")


def test_the_sidecar_error_carries_parameter_and_plugin():
    pytest.importorskip("starlette")
    from pgpcodec.server import http_error_for

    payload = http_error_for(InputError("the prompt is empty", "give a prompt", parameter="prompt", plugin="pgpcodec-p")).payload()
    assert payload == {"error": {"type": "bad_input", "message": "the prompt is empty", "hint": "give a prompt",
                                 "parameter": "prompt", "plugin": "pgpcodec-p"}}
    # a parameter no form field sets (the sidecar's own limit) is not offered as one
    limit = http_error_for(InputError("too big", "raise the pixel limit", parameter="max_pixels")).payload()["error"]
    assert "parameter" not in limit and "plugin" not in limit
    assert set(http_error_for(PgpcodecError("plain")).payload()["error"]) == {"type", "message", "hint"}


def _flag_free(error: PgpcodecError) -> PgpcodecError:
    assert "--" not in error.message and "--" not in (error.hint or ""), str(error)
    return error


def test_library_parsers_name_the_parameter_and_the_cli_its_flag():
    from pgpcodec.bench.bdrate import parse_pairs
    from pgpcodec_evaluators.openai import OpenAIEvaluator
    from pgpcodec.cli import describe
    from pgpcodec.fit import resolve
    from pgpcodec.ratecontrol import bytes_for_bpp

    with pytest.raises(SettingError) as fit:
        resolve("max-side:x")
    assert _flag_free(fit.value).parameter == "fit"
    assert describe(fit.value) == ("--fit max-side:x: the side must be a whole number of pixels >= 1", "e.g. max-side:1568")
    with pytest.raises(SettingError) as pairs:
        parse_pairs("plain", ["plain"])
    assert describe(_flag_free(pairs.value))[0] == "--pairs 'plain' is not ANCHOR:TEST"
    with pytest.raises(SettingError) as bpp:
        bytes_for_bpp(0, 8, 8)
    assert describe(_flag_free(bpp.value))[0] == "--target-bpp must be positive, got 0"
    with pytest.raises(PgpcodecError) as model:
        OpenAIEvaluator(endpoint="http://127.0.0.1:9/v1", model="")
    assert _flag_free(model.value).parameter == "model" and describe(model.value)[1].endswith(": --model NAME")


def test_bench_quality_lists_name_the_parameter_and_the_cli_names_the_flag(capsys):
    from pgpcodec.bench.runner import parse_qualities
    from pgpcodec.cli import main
    from pgpcodec.errors import SettingError

    with pytest.raises(SettingError) as caught:
        parse_qualities(["nope=1,2"], ["jpeg"])
    assert caught.value.parameter == "qualities" and "--" not in str(caught.value)
    with pytest.raises(SystemExit) as code:
        main(["bench", "--dataset", "dev", "--codecs", "jpeg", "--qualities", "nope=1", "--out", "unused-out"])
    assert code.value.code == 2
    assert "--qualities 'nope=1' names codec 'nope', which is not among the codecs" in capsys.readouterr().err
